"""The admin never lets anyone grant more than they have: only superusers change users,
groups, memberships and invitations there."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Role
from accounts.selectors import MANAGERS_GROUP
from accounts.tests.factories import MembershipFactory, UserFactory
from conftest import client_for

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-passphrase-2"


@pytest.fixture
def member(db):
    return MembershipFactory.create(role=Role.EDITOR, user__email="ada@example.test")


def a_manager():
    call_command("create_groups", verbosity=0)
    manager = UserFactory.create(is_staff=True, email="manager@platform.test")
    manager.groups.add(Group.objects.get(name=MANAGERS_GROUP))
    return manager


def staff_with_every_user_permission():
    """Even model permissions granted one by one give no more than reading in the admin."""
    staff = UserFactory.create(is_staff=True, email="staff@platform.test")
    staff.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["accounts", "auth"])
    )
    return staff


@pytest.mark.parametrize("make_staff", [a_manager, staff_with_every_user_permission])
def test_staff_who_are_not_superusers_cannot_change_users_in_the_admin(member, make_staff):
    """Managers read users in the admin; making a superuser or setting a password is refused."""
    manager = make_staff()
    client = client_for(manager)
    victim = member.user
    before = victim.password

    assert client.get(reverse("admin:accounts_user_change", args=[victim.pk])).status_code == 200
    promote = client.post(
        reverse("admin:accounts_user_change", args=[manager.pk]),
        {"email": manager.email, "is_superuser": "on", "is_staff": "on", "is_active": "on"},
    )
    assert promote.status_code == 403
    password = client.post(
        reverse("admin:auth_user_password_change", args=[victim.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert password.status_code == 403
    manager.refresh_from_db()
    victim.refresh_from_db()
    assert not manager.is_superuser
    assert victim.password == before


def test_a_non_superuser_cannot_give_a_group_more_permissions(member):
    staff = staff_with_every_user_permission()
    group = Group.objects.create(name="Helpers")
    response = client_for(staff).post(
        reverse("admin:auth_group_change", args=[group.pk]),
        {"name": "Helpers", "permissions": [p.pk for p in Permission.objects.all()]},
    )
    assert response.status_code == 403
    assert not group.permissions.exists()
