"""The Emailer System's user endpoints, for platform administrators."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import Membership, User
from accounts.selectors import MANAGERS_GROUP
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def manager(db):
    call_command("create_groups", verbosity=0)
    user = UserFactory.create(email="manager@example.test")
    user.groups.add(Group.objects.get(name=MANAGERS_GROUP))
    return user


@pytest.fixture
def root(db):
    return UserFactory.create(email="root@example.test", is_superuser=True, is_staff=True)


def test_managers_list_members_staff_and_non_staff(manager, root):
    UserFactory.create(email="plain@example.test")
    client = as_user(manager)
    members = client.get("/api/members/").json()
    assert members["count"] == 3
    emails = {u["email"] for u in members["results"]}
    assert emails == {"manager@example.test", "root@example.test", "plain@example.test"}
    assert "password" not in members["results"][0]
    staff = {u["email"] for u in client.get("/api/staff/").json()["results"]}
    assert staff == {"root@example.test"}
    non_staff = {u["email"] for u in client.get("/api/non-staff/").json()["results"]}
    assert non_staff == {"manager@example.test", "plain@example.test"}


def test_only_superusers_create_change_and_delete(manager, root):
    body = {"email": "New@Example.test", "password": "a-long-fresh-passphrase"}
    assert as_user(manager).post("/api/members/", body, format="json").status_code == 403

    created = as_user(root).post("/api/members/", body, format="json")
    assert created.status_code == 201
    user = User.objects.get(email="new@example.test")
    assert user.check_password("a-long-fresh-passphrase")
    assert user.is_verified
    assert Membership.objects.filter(user=user).exists()

    changed = as_user(root).patch(f"/api/members/{user.pk}/", {"first_name": "Nia"})
    assert changed.status_code == 200
    assert changed.json()["first_name"] == "Nia"
    assert as_user(root).delete(f"/api/non-staff/{user.pk}/").status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()


def test_field_errors_have_codes_and_messages(root):
    response = as_user(root).post("/api/members/", {"email": "not-an-address"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "Some fields are not valid."
    assert error["fields"]["email"][0]["code"] == "invalid"
    no_password = as_user(root).post("/api/members/", {"email": "a@example.test"}, format="json")
    fields = no_password.json()["error"]["fields"]
    assert fields["password"][0]["message"] == "A new user needs a password."


def test_a_weak_password_is_refused(root):
    response = as_user(root).post(
        "/api/members/", {"email": "x@example.test", "password": "123"}, format="json"
    )
    assert response.status_code == 400
    assert "password" in response.json()["error"]["fields"]


def test_these_routes_do_not_exist_for_others(db):
    client = as_user(UserFactory.create())
    assert client.get("/api/members/").status_code == 404
    assert client.get("/api/staff/").status_code == 404
