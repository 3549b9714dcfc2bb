"""What the layout of every page shows about the signed-in user, read in one statement.

The sidebar needs four facts: the user's workspaces (the switcher), whether they are a
platform manager (the Platform link), their unread notifications in this workspace (the bell),
and whether an account of the workspace is in error (the notice above the page). Asked through
the four selectors, that was four ORM queries on every page, 4 to 5 ms of the web process's CPU
of the 15 to 30 a page costs (Django compiling and instantiating, not PostgreSQL answering); one
statement costs a tenth of it. Its rules are the selectors' own, which
postroom/tests/test_layout_facts.py holds it to: `memberships_of_user`,
`user_is_platform_manager`, `unread_count` and `accounts_in_error`.

It is read when a page first uses one of the facts: a fragment that htmx polls and that does
not extend the layout runs no query. The accounts in error are listed (a second query) only
when there are some.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.middleware import WorkspaceAccess
from accounts.models import Membership, Role, User, Workspace
from accounts.selectors import MANAGER_PERMISSION
from notifications.models import Notification
from sending.models import AccountStatus, SendingAccount
from sending.selectors import accounts_in_error


@dataclass(frozen=True)
class WorkspaceChoice:
    """One line of the workspace switcher."""

    id: int
    name: str
    role: str

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)


@dataclass(frozen=True)
class LayoutFacts:
    workspaces: tuple[WorkspaceChoice, ...]  # by name, as memberships_of_user
    platform_manager: bool
    unread: int  # 0 without a workspace
    accounts_in_error: bool  # False without a workspace


@cache
def _statement() -> str:
    user_permissions = User.user_permissions.through._meta.db_table
    user_groups = User.groups.through._meta.db_table
    group_permissions = Group.permissions.through._meta.db_table
    return f"""
        SELECT
            (SELECT COUNT(*) FROM {Notification._meta.db_table}
              WHERE workspace_id = %s AND user_id = %s AND read_at IS NULL),
            EXISTS (SELECT 1 FROM {SendingAccount._meta.db_table}
                     WHERE workspace_id = %s AND status = %s),
            EXISTS (SELECT 1 FROM {Permission._meta.db_table} p
                      JOIN {ContentType._meta.db_table} t ON t.id = p.content_type_id
                     WHERE t.app_label = %s AND p.codename = %s
                       AND (p.id IN (SELECT permission_id FROM {user_permissions}
                                      WHERE user_id = %s)
                            OR p.id IN (SELECT gp.permission_id FROM {group_permissions} gp
                                          JOIN {user_groups} ug ON ug.group_id = gp.group_id
                                         WHERE ug.user_id = %s))),
            w.id, w.name, m.role
        FROM (SELECT 1 AS one) AS facts
        LEFT JOIN {Membership._meta.db_table} m ON m.user_id = %s
        LEFT JOIN {Workspace._meta.db_table} w ON w.id = m.workspace_id
        ORDER BY w.name, w.id
    """  # noqa: S608 - the models' table names; every value goes as a parameter


def layout_facts(user: User, workspace: Workspace | None) -> LayoutFacts:
    """The four facts for `user` in `workspace` (None: no workspace chosen), one query."""
    app_label, codename = MANAGER_PERMISSION
    workspace_id = workspace.pk if workspace is not None else None
    with connection.cursor() as cursor:
        cursor.execute(
            _statement(),
            [
                workspace_id, user.pk,
                workspace_id, AccountStatus.ERROR.value,
                app_label, codename, user.pk, user.pk,
                user.pk,
            ],
        )  # fmt: skip
        rows = cursor.fetchall()
    unread, in_error, holds_permission = rows[0][:3]
    manager: bool | None = getattr(user, "_platform_manager", None)
    if manager is None:  # as user_is_platform_manager, which then asks no more this request
        manager = user.is_active and (user.is_superuser or bool(holds_permission))
        user._platform_manager = manager  # type: ignore[attr-defined]
    return LayoutFacts(
        workspaces=tuple(WorkspaceChoice(row[3], row[4], row[5]) for row in rows if row[3]),
        platform_manager=manager,
        unread=unread,
        accounts_in_error=bool(in_error),
    )


def context(request: HttpRequest) -> dict[str, Any]:
    """Template context processor: `user_workspaces`, `is_platform_manager` and, in a
    workspace, `notifications_unread` and `accounts_in_error`, all read on first use."""
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {}
    access: WorkspaceAccess | None = getattr(request, "access", None)
    workspace = access.workspace if access else None
    facts = cache(lambda: layout_facts(user, workspace))  # one read for the four
    found: dict[str, Any] = {
        "user_workspaces": SimpleLazyObject(lambda: list(facts().workspaces)),
        "is_platform_manager": SimpleLazyObject(lambda: facts().platform_manager),
    }
    if workspace is not None:
        found["notifications_unread"] = SimpleLazyObject(lambda: facts().unread)
        found["accounts_in_error"] = SimpleLazyObject(
            lambda: list(accounts_in_error(workspace)) if facts().accounts_in_error else []
        )
    return found
