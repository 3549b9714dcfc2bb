"""Per-request parts of sign-in security: a session's "last seen", and a workspace's demand
for two-factor sign-in."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from accounts import two_factor, user_sessions
from accounts.models import User

# Pages a member of a workspace that requires two-factor sign-in may still open without it:
# their own account (setting it up, signing out, switching workspaces) and static files.
OPEN_PREFIXES = ("/accounts/", "/static/")


class SessionActivityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if isinstance(user, User) and user.is_authenticated:
            user_sessions.session_touch(request=request, user=user)
        return self.get_response(request)


class TwoFactorRequiredMiddleware:
    """Send a member of a workspace that requires two-factor sign-in to set it up first.

    Only the web session is concerned: API keys and tokens authenticate in the API views,
    after this, and are machines' credentials.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        access = getattr(request, "access", None)
        if (
            access is None
            or access.via != "member"
            or not access.workspace.require_two_factor
            or request.path.startswith(OPEN_PREFIXES)
            or not isinstance(request.user, User)
            or two_factor.has_two_factor(request.user)
        ):
            return self.get_response(request)
        text = _(
            "“%(workspace)s” requires two-factor sign-in: set it up to use this workspace."
        ) % {"workspace": access.workspace.name}
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": text}, status=403)
        messages.warning(request, text)
        return redirect("accounts:two_factor")
