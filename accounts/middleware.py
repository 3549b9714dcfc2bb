"""Puts the current workspace and the user's role in it on every request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from accounts.models import Membership, Role, User, Workspace
from accounts.selectors import membership_get, memberships_of_user, user_is_platform_manager

SESSION_KEY = "postroom.workspace_id"


@dataclass(frozen=True)
class WorkspaceAccess:
    """Who the request acts as: the workspace, the role in it, and why it has that role."""

    workspace: Workspace
    role: str
    membership: Membership | None  # None for a platform manager's look or an API key
    via: str = "member"  # "member", "manager" (read-only look) or "api_key"

    @property
    def manager_view(self) -> bool:
        return self.via == "manager"

    def allows(self, role: str) -> bool:
        return Role.rank(self.role) >= Role.rank(role)


def access_to(user: User, workspace_id: int) -> WorkspaceAccess | None:
    """The user's access to one workspace: as a member, or read-only as a platform manager."""
    membership = membership_get(user, workspace_id)
    if membership is not None:
        return WorkspaceAccess(membership.workspace, membership.role, membership)
    if user_is_platform_manager(user):
        workspace = Workspace.objects.filter(pk=workspace_id).first()
        if workspace is not None:
            return WorkspaceAccess(workspace, Role.VIEWER, None, via="manager")
    return None


def first_access(user: User) -> WorkspaceAccess | None:
    """The workspace the user joined first (their own, made at sign-up), for when none is
    chosen: creating or joining another one later does not change it."""
    membership = memberships_of_user(user).order_by("created_at", "pk").first()
    if membership is None:
        return None
    return WorkspaceAccess(membership.workspace, membership.role, membership)


def current_access(user: User) -> WorkspaceAccess | None:
    """The user's current workspace (the one last chosen in the web interface) if they are
    still a member of it, else their first one."""
    if user.current_workspace_id is not None:
        membership = membership_get(user, user.current_workspace_id)
        if membership is not None:
            return WorkspaceAccess(membership.workspace, membership.role, membership)
    return first_access(user)


def resolve_access(request: HttpRequest) -> WorkspaceAccess | None:
    """The workspace chosen in the session if the user may see it, else their current one.

    Only an explicit switch (choose_workspace) changes the user's current workspace, the one a
    new session and the API (without X-Workspace) start in: creating or joining a workspace,
    or a stale session, moves neither a script nor the next sign-in.
    """
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        return None
    chosen = request.session.get(SESSION_KEY)
    access = access_to(user, chosen) if isinstance(chosen, int) else None
    if access is None:
        access = current_access(user)
        if access is not None:
            request.session[SESSION_KEY] = access.workspace.pk
    return access


def choose_workspace(
    request: HttpRequest, workspace_id: int, *, member: bool = True, remember: bool = True
) -> None:
    """Make a workspace current for this session and, for a member who chose it (`remember`),
    for the user: where their next session and their API calls without X-Workspace act."""
    request.session[SESSION_KEY] = workspace_id
    user = request.user
    if member and remember and isinstance(user, User):
        remember_current(user, workspace_id)


def remember_current(user: User, workspace_id: int) -> None:
    """Store the user's current workspace: one UPDATE, only when it changed."""
    if user.current_workspace_id != workspace_id:
        user.current_workspace_id = workspace_id
        User.objects.filter(pk=user.pk).update(current_workspace_id=workspace_id)


class WorkspaceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.access = resolve_access(request)  # type: ignore[attr-defined]
        return self.get_response(request)


class UserLanguageMiddleware:
    """A signed-in user's profile language, when they chose one, over what LocaleMiddleware
    took from the language cookie or the browser's Accept-Language (a blank choice follows
    those). After the authentication middleware, which tells who the user is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if isinstance(user, User) and user.is_authenticated and user.language:
            try:
                language = translation.get_supported_language_variant(user.language)
            except LookupError:  # a language no longer offered: the browser's, as if blank
                return self.get_response(request)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
