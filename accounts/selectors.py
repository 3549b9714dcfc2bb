"""Reads for accounts. Workspace-scoped selectors take the workspace first."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Invitation, Membership, User, Workspace
from core.compiled import Compiled

MANAGERS_GROUP = "Managers"
# The permission that makes a platform manager: (app label, codename).
MANAGER_PERMISSION = ("accounts", "view_all_workspaces")


def user_is_platform_manager(user: User) -> bool:
    """Superusers and members of the Managers group oversee every workspace.

    Asked on every page (the menu shows the platform's pages to managers): one EXISTS query,
    answered once per user object (a request's), where `has_perm` loaded every permission
    of the user and of their groups, sorted through three joins, in two queries."""
    if not user.is_authenticated or not user.is_active:
        return False
    known: bool | None = getattr(user, "_platform_manager", None)
    if known is None:
        known = user_has_manager_rights(user)
        user._platform_manager = known  # type: ignore[attr-defined]
    return known


def user_has_manager_rights(user: User) -> bool:
    """Whether the user is a superuser or holds the managers' rights, even while blocked.

    `has_perm` answers False for a blocked user, so it cannot tell a blocked manager apart.
    """
    if user.is_superuser:
        return True
    app_label, codename = MANAGER_PERMISSION
    return (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .filter(Q(user=user) | Q(group__user=user))
        .exists()
    )


def block_refusal(user: User, by: User) -> str | None:
    """Why `by` may not block `user`, or None: nobody blocks themselves, and managers cannot
    lock each other, or the platform's superusers, out."""
    if user.pk == by.pk:
        return _("You cannot block yourself.")
    if not by.is_superuser and user_has_manager_rights(user):
        return _("Only a superuser can block a platform manager or a superuser.")
    return None


def unblock_refusal(user: User, by: User) -> str | None:
    """Why `by` may not lift `user`'s block, or None. A manager lifts only a block a manager
    put on a user who is not a manager; a block with no known author (put by a superuser
    through the admin or the API, or by a user since deleted) is a superuser's to lift."""
    if by.is_superuser:
        return None
    blocker = user.blocked_by
    if blocker is None or blocker.is_superuser:
        return _("Only a superuser can unblock this user: a superuser blocked it.")
    if user_has_manager_rights(user):
        return _("Only a superuser can unblock a platform manager.")
    return None


def user_get(pk: int) -> User | None:
    """The user of this id, whatever their state; every signed-in request and API call with
    a token reads it (the session's backend, the token's check)."""
    return _USER.first(pk=pk)


# Compiled once (core.compiled). One row by its key: not sorted (the model's ordering is by
# e-mail address).
_USER = Compiled(lambda pk: User._default_manager.filter(pk=pk).order_by(), pk=-7_000_000_001)


def memberships_of_user(user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("workspace")
        .order_by("workspace__name", "workspace_id")
    )


def membership_get(user: User, workspace_id: int) -> Membership | None:
    """The user's membership of the workspace, with the workspace; every page asks it."""
    return _MEMBERSHIP.first(user_id=user.pk, workspace_id=workspace_id)


# One membership per user and workspace: no ORDER BY (the model's ordering joined the users'
# table on every request only to sort one row). Compiled once (core.compiled).
_MEMBERSHIP = Compiled(
    lambda user_id, workspace_id: (
        Membership.objects.select_related("workspace")
        .filter(user_id=user_id, workspace_id=workspace_id)
        .order_by()[:1]
    ),
    user_id=-7_000_000_001,
    workspace_id=-7_000_000_002,
)


def workspace_members(workspace: Workspace) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("user__email")
    )


def workspace_member_get(workspace: Workspace, membership_id: int) -> Membership | None:
    return workspace_members(workspace).filter(pk=membership_id).first()


def workspace_pending_invitations(workspace: Workspace) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        workspace=workspace, accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def workspace_invitation_get(workspace: Workspace, invitation_id: int) -> Invitation | None:
    return workspace_pending_invitations(workspace).filter(pk=invitation_id).first()


def invitations_for_user(user: User) -> QuerySet[Invitation]:
    """Pending invitations addressed to this user's e-mail, in any workspace."""
    return (
        Invitation.objects.filter(
            email__iexact=user.email, accepted_at__isnull=True, expires_at__gt=timezone.now()
        )
        .exclude(workspace__memberships__user=user)
        .select_related("workspace", "invited_by")
    )


def invitation_for_user_get(user: User, invitation_id: int) -> Invitation | None:
    return invitations_for_user(user).filter(pk=invitation_id).first()


# --- Platform (managers) -------------------------------------------------------------------


def platform_users(search: str = "") -> QuerySet[User]:
    users = User.objects.annotate(workspace_count=Count("memberships")).order_by("email")
    if search:
        users = users.filter(email__icontains=search.strip())
    return users


def platform_workspaces(search: str = "") -> QuerySet[Workspace]:
    workspaces = Workspace.objects.annotate(member_count=Count("memberships")).order_by(
        "name", "id"
    )
    if search:
        workspaces = workspaces.filter(name__icontains=search.strip())
    return workspaces
