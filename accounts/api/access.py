"""Which workspace an API call acts in, and whether its role allows the method.

An API key acts in its own workspace with its own role, capped by its creator's current role
there. A user (JWT or session) acts in the workspace named by the `X-Workspace` header (its
id), or, without it, in their current workspace (the one last chosen in the web interface;
their first until they choose); a workspace they are not in answers 404, as in the UI.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.keys.models import ApiKey
from accounts.keys.selectors import api_key_role
from accounts.middleware import WorkspaceAccess, access_to, current_access
from accounts.models import Role, User
from accounts.selectors import user_is_platform_manager

WORKSPACE_HEADER = "HTTP_X_WORKSPACE"


def _user_access(user: User, header: str) -> WorkspaceAccess:
    if header:
        try:
            workspace_id = int(header)
        except ValueError as exc:
            raise exceptions.ValidationError({"X-Workspace": [_("Give a workspace id.")]}) from exc
        access = access_to(user, workspace_id)
        if access is None:
            raise exceptions.NotFound(_("No such workspace."))
        return access
    # Without the header: the workspace the user works in (last chosen in the web
    # interface), never one picked by its name or age, so creating or joining another
    # workspace does not move an API script somewhere else.
    access = current_access(user)
    if access is None:
        raise exceptions.NotFound(_("You are not a member of any workspace."))
    return access


def api_access(request: Request) -> WorkspaceAccess:
    """The caller's workspace access, computed once per request."""
    cached: WorkspaceAccess | None = getattr(request, "_workspace_access", None)
    if cached is not None:
        return cached
    if isinstance(request.auth, ApiKey):
        key = request.auth
        role = api_key_role(key)
        if role is None:  # authentication refuses such keys; never act on one regardless
            raise exceptions.NotAuthenticated()
        access = WorkspaceAccess(key.workspace, role, None, via="api_key")
    elif isinstance(request.user, User) and request.user.is_authenticated:
        access = _user_access(request.user, request.META.get(WORKSPACE_HEADER, "").strip())
    else:
        raise exceptions.NotAuthenticated()
    request._workspace_access = access  # type: ignore[attr-defined]
    return access


class WorkspaceRole(BasePermission):
    """Reading needs viewer; writing needs the view's `required_role` (editor by default)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        access = api_access(request)
        needed = Role.VIEWER
        if request.method not in SAFE_METHODS:
            needed = getattr(view, "required_role", Role.EDITOR)
            if Role.rank(needed) < Role.rank(Role.EDITOR):
                needed = Role.EDITOR
        if not access.allows(needed):
            raise exceptions.PermissionDenied(
                _("This needs the %(needed)s role in the workspace; the caller is %(role)s.")
                % {"needed": needed, "role": access.role}
            )
        return True


class WorkspaceReader(BasePermission):
    """Viewer is enough: for a POST that changes nothing (a preview, a check, a count)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        access = api_access(request)  # 401 without credentials, 404 for a workspace not theirs
        if not access.allows(Role.VIEWER):
            raise exceptions.PermissionDenied(_("This needs a role in the workspace."))
        return True


class PlatformManagerOnly(BasePermission):
    """Platform managers only; to everyone else (API keys too) the routes are 404."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        if isinstance(request.auth, ApiKey) or not user_is_platform_manager(user):
            raise exceptions.NotFound()
        return True


class PlatformManager(PlatformManagerOnly):
    """Platform managers read; only superusers change users. To others these routes are 404."""

    def has_permission(self, request: Request, view: Any) -> bool:
        super().has_permission(request, view)
        user = request.user
        if request.method not in SAFE_METHODS and not user.is_superuser:
            raise exceptions.PermissionDenied(_("Only superusers change users."))
        return True
