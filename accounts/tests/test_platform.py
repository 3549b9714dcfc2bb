import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from accounts.middleware import SESSION_KEY
from accounts.selectors import MANAGERS_GROUP
from accounts.tests.factories import UserFactory
from conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(db):
    call_command("create_groups", verbosity=0)
    user = UserFactory.create(email="manager@platform.test")
    user.groups.add(Group.objects.get(name=MANAGERS_GROUP))
    return user


def test_create_groups_is_idempotent(db):
    call_command("create_groups")
    call_command("create_groups")
    group = Group.objects.get(name=MANAGERS_GROUP)
    assert {p.codename for p in group.permissions.all()} >= {
        "view_all_workspaces",
        "stop_workspace_sending",
    }


def test_the_platform_console_is_invisible_to_others(personas, owner_client):
    assert owner_client.get(reverse("platform:index")).status_code == 404
    response = owner_client.post(
        reverse("platform:user_block", kwargs={"user_id": personas.outsider.pk})
    )
    assert response.status_code == 404
    personas.outsider.refresh_from_db()
    assert personas.outsider.is_active


def test_a_manager_lists_users_and_workspaces(personas, manager):
    page = client_for(manager).get(reverse("platform:index")).content.decode()
    for text in ("owner@acme.test", "outsider@globex.test", "Acme", "Globex"):
        assert text in page


def test_a_manager_blocks_and_unblocks_a_user(personas, manager):
    client = client_for(manager)
    victim = client_for(personas.editor)
    client.post(
        reverse("platform:user_block", kwargs={"user_id": personas.editor.pk}),
        {"reason": "abuse"},
    )
    personas.editor.refresh_from_db()
    assert not personas.editor.is_active
    assert personas.editor.blocked_reason == "abuse"
    assert victim.get(reverse("dashboard")).status_code == 302

    client.post(reverse("platform:user_unblock", kwargs={"user_id": personas.editor.pk}))
    personas.editor.refresh_from_db()
    assert personas.editor.is_active
    assert personas.editor.blocked_at is None


def test_a_manager_cannot_block_themselves_or_a_superuser(personas, manager):
    client = client_for(manager)
    root = UserFactory.create(is_superuser=True)
    for target in (manager, root):
        response = client.post(
            reverse("platform:user_block", kwargs={"user_id": target.pk}), follow=True
        )
        assert response.status_code == 200
        target.refresh_from_db()
        assert target.is_active


def test_a_manager_stops_and_resumes_a_workspace_sending(personas, manager, owner_client):
    client = client_for(manager)
    url = reverse("platform:workspace_sending", kwargs={"workspace_id": personas.workspace.pk})
    client.post(url, {"action": "stop", "reason": "complaints"})
    personas.workspace.refresh_from_db()
    assert personas.workspace.sending_stopped
    assert personas.workspace.sending_stopped_by == manager
    banner = owner_client.get(reverse("dashboard")).content.decode()
    assert "Sending is stopped for this workspace" in banner
    assert "complaints" in banner

    client.post(url, {"action": "resume"})
    personas.workspace.refresh_from_db()
    assert not personas.workspace.sending_stopped


def test_a_manager_views_any_workspace_read_only(personas, manager):
    client = client_for(manager)
    response = client.post(
        reverse("accounts:workspace_switch", kwargs={"workspace_id": personas.workspace.pk})
    )
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == personas.workspace.pk
    page = client.get(reverse("accounts:settings")).content.decode()
    assert "platform manager" in page
    assert "owner@acme.test" in page

    refused = client.post(
        reverse("accounts:workspace_update"), {"name": "Taken over", "time_zone": "UTC"}
    )
    assert refused.status_code == 403
    personas.workspace.refresh_from_db()
    assert personas.workspace.name == "Acme"
