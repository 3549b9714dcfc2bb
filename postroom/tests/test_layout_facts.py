"""The layout's facts, read in one statement (postroom.layout), answer exactly what the four
selectors they stand for answer, for members, managers (by group, by their own permission, as
superuser, blocked), outsiders, with and without a workspace."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Role, User
from accounts.selectors import (
    MANAGER_PERMISSION,
    MANAGERS_GROUP,
    memberships_of_user,
    user_is_platform_manager,
)
from accounts.tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from notifications.collect import Fact, tell
from notifications.kinds import Kind
from notifications.models import Notification
from notifications.selectors import unread_count
from postroom.layout import layout_facts
from sending.models import AccountStatus
from sending.selectors import accounts_in_error
from sending.services import account_mark_error
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def _notify(workspace, key: str) -> None:
    now = timezone.now()
    tell([Fact(workspace.pk, Kind.CAMPAIGN_PAUSED, key, "Spring", None, "-", now)], now=now)


@pytest.fixture
def people(personas):
    """Notifications read and unread in two workspaces, an account in error in one, a third
    workspace with the first one's name, and managers of every kind."""
    workspace, other = personas.workspace, personas.other_workspace
    twin = WorkspaceFactory.create(name=workspace.name)  # same name: ordered by id after it
    MembershipFactory.create(workspace=other, user=personas.owner, role=Role.VIEWER)
    MembershipFactory.create(workspace=twin, user=personas.owner, role=Role.EDITOR)
    MembershipFactory.create(workspace=twin, user=personas.editor, role=Role.OWNER)
    _notify(workspace, "one")
    _notify(workspace, "two")
    _notify(other, "three")
    Notification.objects.filter(user=personas.owner, key="two").update(read_at=timezone.now())
    account_mark_error(
        account=SendingAccountFactory.create(workspace=workspace), reason="535 refused"
    )
    SendingAccountFactory.create(workspace=other, status=AccountStatus.ACTIVE)
    call_command("create_groups", verbosity=0)
    managers = Group.objects.get(name=MANAGERS_GROUP)
    personas.editor.groups.add(managers)
    app_label, codename = MANAGER_PERMISSION
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    personas.viewer.user_permissions.add(permission)
    superuser = UserFactory.create(is_superuser=True)
    blocked = UserFactory.create(is_active=False)
    blocked.groups.add(managers)
    users = [personas.owner, personas.editor, personas.viewer, personas.outsider]
    return [*users, superuser, blocked], [workspace, other, twin, None]


def _expected(user: User, workspace):
    return (
        [(m.workspace_id, m.workspace.name, m.role) for m in memberships_of_user(user)],
        user_is_platform_manager(user),
        unread_count(workspace, user) if workspace else 0,
        accounts_in_error(workspace).exists() if workspace else False,
    )


def test_the_facts_are_the_selectors_answers(people):
    users, workspaces = people
    seen = set()
    for user in users:
        for workspace in workspaces:
            facts = layout_facts(User.objects.get(pk=user.pk), workspace)
            got = (
                [(w.id, w.name, w.role) for w in facts.workspaces],
                facts.platform_manager,
                facts.unread,
                facts.accounts_in_error,
            )
            assert got == _expected(User.objects.get(pk=user.pk), workspace), (user, workspace)
            seen.add((len(got[0]), got[1], got[2], got[3]))
    # The matrix tells the cases apart: none of the facts is the same for everyone.
    assert {s[0] for s in seen} >= {0, 1, 2, 3}
    assert {s[1] for s in seen} == {True, False}
    assert {s[2] for s in seen} >= {0, 1}
    assert {s[3] for s in seen} == {True, False}


def test_the_switcher_lists_by_name_then_by_workspace(people):
    users, _ = people
    owner = users[0]
    names = [(w.name, w.role) for w in layout_facts(owner, None).workspaces]
    assert names == [("Acme", Role.OWNER), ("Acme", Role.EDITOR), ("Globex", Role.VIEWER)]
    assert [w.role_label for w in layout_facts(owner, None).workspaces] == [
        "Owner",
        "Editor",
        "Viewer",
    ]


def test_the_answer_on_managers_is_kept_for_the_request(people, django_assert_num_queries):
    users, workspaces = people
    editor = User.objects.get(pk=users[1].pk)
    assert layout_facts(editor, workspaces[0]).platform_manager is True
    with django_assert_num_queries(0):
        assert user_is_platform_manager(editor) is True
