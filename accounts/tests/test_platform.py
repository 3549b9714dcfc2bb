import importlib

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from accounts import services
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


def test_managers_get_no_right_to_change_users_and_no_hint_of_a_missing_option(db, capsys):
    call_command("create_groups")
    group = Group.objects.get(name=MANAGERS_GROUP)
    codenames = {p.codename for p in group.permissions.all()}
    assert "change_user" not in codenames
    assert {"view_all_workspaces", "stop_workspace_sending", "view_user"} <= codenames
    assert "--manager" not in capsys.readouterr().out


def test_a_manager_cannot_unblock_a_user_a_superuser_blocked(personas, manager):
    root = UserFactory.create(is_superuser=True)
    services.user_block(user=personas.editor, by=root, reason="fraud")
    response = client_for(manager).post(
        reverse("platform:user_unblock", kwargs={"user_id": personas.editor.pk}), follow=True
    )
    assert "Only a superuser can unblock this user: a superuser blocked it." in (
        response.content.decode()
    )
    personas.editor.refresh_from_db()
    assert not personas.editor.is_active
    assert personas.editor.blocked_by == root
    assert personas.editor.blocked_reason == "fraud"

    client_for(root).post(reverse("platform:user_unblock", kwargs={"user_id": personas.editor.pk}))
    personas.editor.refresh_from_db()
    assert personas.editor.is_active


def test_a_manager_cannot_block_another_manager(personas, manager):
    other = UserFactory.create(email="other-manager@platform.test")
    other.groups.add(Group.objects.get(name=MANAGERS_GROUP))
    response = client_for(manager).post(
        reverse("platform:user_block", kwargs={"user_id": other.pk}), follow=True
    )
    assert "Only a superuser can block a platform manager or a superuser." in (
        response.content.decode()
    )
    other.refresh_from_db()
    assert other.is_active
    assert other.blocked_at is None


def test_a_manager_cannot_unblock_a_blocked_manager(personas, manager):
    root = UserFactory.create(is_superuser=True)
    other = UserFactory.create(email="other-manager@platform.test")
    other.groups.add(Group.objects.get(name=MANAGERS_GROUP))
    services.user_block(user=other, by=root)
    with pytest.raises(services.AccountError):
        services.user_unblock(user=other, by=manager)
    other.refresh_from_db()
    assert not other.is_active


def test_a_managers_block_records_who_and_revokes_nothing_else(personas, manager):
    client_for(manager).post(reverse("platform:user_block", kwargs={"user_id": personas.editor.pk}))
    personas.editor.refresh_from_db()
    personas.viewer.refresh_from_db()
    assert personas.editor.blocked_by == manager
    assert personas.editor.token_generation == 1
    assert personas.viewer.is_active
    assert personas.viewer.token_generation == 0


def test_an_existing_managers_group_loses_change_user_on_migrating(db):
    from django.apps import apps
    from django.contrib.auth.models import Permission

    migration = importlib.import_module("accounts.migrations.0004_managers_do_not_change_users")
    group = Group.objects.create(name=MANAGERS_GROUP)
    change_user = Permission.objects.get(content_type__app_label="accounts", codename="change_user")
    view_user = Permission.objects.get(content_type__app_label="accounts", codename="view_user")
    group.permissions.set([change_user, view_user])

    migration.forwards(apps, None)

    assert list(group.permissions.all()) == [view_user]


def _row(page: str, email: str) -> str:
    start = page.index(f'data-user="{email}"')
    return page[start : page.index("</tr>", start)]


def test_the_console_offers_a_manager_only_the_blocks_they_may_put_or_lift(personas, manager):
    """The buttons follow the services' rules: no Unblock a POST would refuse, no Block of a
    peer; the row says who may act instead."""
    root = UserFactory.create(email="root@platform.test", is_superuser=True)
    peer = UserFactory.create(email="peer@platform.test")
    peer.groups.add(Group.objects.get(name=MANAGERS_GROUP))
    services.user_block(user=personas.editor, by=root, reason="fraud")
    services.user_block(user=personas.viewer, by=manager)

    page = client_for(manager).get(reverse("platform:index")).content.decode()

    by_root = _row(page, personas.editor.email)
    assert "Unblock" not in by_root
    assert "Only a superuser can unblock this user: a superuser blocked it." in by_root
    assert ">Unblock</button>" in _row(page, personas.viewer.email)  # the manager's own block
    for untouchable in (peer.email, root.email):
        row = _row(page, untouchable)
        assert ">Block</button>" not in row
        assert "Only a superuser can block a platform manager or a superuser." in row
    assert ">Block</button>" in _row(page, personas.owner.email)
    assert ">Block</button>" not in _row(page, manager.email)  # not oneself

    # A superuser sees every button.
    everything = client_for(root).get(reverse("platform:index")).content.decode()
    assert ">Unblock</button>" in _row(everything, personas.editor.email)
    assert ">Block</button>" in _row(everything, peer.email)


def test_who_is_a_platform_manager_costs_one_query_per_request(
    personas, manager, django_assert_num_queries
):
    """Asked on every page: one EXISTS, once per request's user object."""
    from django.contrib.auth.models import Permission

    from accounts.models import User
    from accounts.selectors import user_is_platform_manager

    direct = UserFactory.create(email="direct@platform.test")
    direct.user_permissions.add(Permission.objects.get(codename="view_all_workspaces"))
    blocked = UserFactory.create(email="blocked@platform.test", is_active=False)
    blocked.groups.add(Group.objects.get(name=MANAGERS_GROUP))
    boss = UserFactory.create(email="boss@platform.test", is_superuser=True)
    for user, expected in [(manager, True), (direct, True), (personas.owner, False)]:
        fresh = User.objects.get(pk=user.pk)  # as a request loads it
        with django_assert_num_queries(1):
            assert user_is_platform_manager(fresh) is expected
            assert user_is_platform_manager(fresh) is expected  # the same request: no query
    blocked, boss = User.objects.get(pk=blocked.pk), User.objects.get(pk=boss.pk)
    with django_assert_num_queries(0):
        assert user_is_platform_manager(blocked) is False  # blocked: no rights while blocked
        assert user_is_platform_manager(boss) is True
