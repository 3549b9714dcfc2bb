"""Guards for views: who may see and change what in the current workspace.

Objects of another workspace must answer 404, never 403, so that ids reveal nothing: views
look objects up through workspace-scoped selectors and call `or_404` on the result.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from accounts.middleware import WorkspaceAccess
from accounts.models import Role, User

P = ParamSpec("P")
T = TypeVar("T")

ViewFunc = Callable[Concatenate[HttpRequest, P], HttpResponseBase]  # a page, a redirect, a file


def access_of(request: HttpRequest) -> WorkspaceAccess:
    access: WorkspaceAccess | None = getattr(request, "access", None)
    if access is None:
        raise Http404("No workspace")
    return access


def user_of(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 - guarded by the decorators below
    return user


def workspace_view(
    role: str = Role.VIEWER, *, own_membership: bool = False
) -> Callable[[ViewFunc[P]], ViewFunc[P]]:
    """Require a signed-in user with at least `role` in the current workspace.

    Every method needs `role`; methods other than GET and HEAD need at least editor whatever
    `role` says, so that a viewer can read pages but never change anything. A view that changes
    only the caller's own membership (leaving) says `own_membership=True`: any member may.
    """

    def decorator(view: ViewFunc[P]) -> ViewFunc[P]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            access: WorkspaceAccess | None = getattr(request, "access", None)
            if access is None:
                return redirect("accounts:workspaces")
            needed = role
            writes = request.method not in ("GET", "HEAD") and not own_membership
            if writes and Role.rank(needed) < Role.rank(Role.EDITOR):
                needed = Role.EDITOR
            if not access.allows(needed):
                raise PermissionDenied(
                    "Your role in this workspace does not allow this."
                    if not access.manager_view
                    else "Platform managers see workspaces read-only."
                )
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def or_404(obj: T | None) -> T:
    if obj is None:
        raise Http404
    return obj


def base_url_of(request: HttpRequest) -> str:
    """Where links in e-mails point: SITE_URL when set, else the host this request came to."""
    return settings.SITE_URL or request.build_absolute_uri("/").rstrip("/")
