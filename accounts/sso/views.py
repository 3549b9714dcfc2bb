"""The two routes of single sign-on: off to the provider, and back from it.

Both answer 404 while single sign-on is not configured. A refusal goes back to the sign-in
page with its reason, is written in the audit log and counts as a failed sign-in for
django-axes (by the claimed address when there is one), as a wrong password does.
"""

from __future__ import annotations

import logging
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.signals import user_login_failed
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from accounts.models import User
from accounts.security_views import start_second_step
from accounts.sso import provider
from accounts.sso.client import sign_in
from accounts.sso.services import Refused, asks_for_code

audit_log = logging.getLogger("accounts.audit")
# The backend a session signed in through the provider is kept with (it only loads the user).
SESSION_BACKEND = "accounts.backends.EmailBackend"


def _enabled() -> None:
    if not settings.SSO_ENABLED:
        raise Http404


class _RequestView(OIDCAuthenticationRequestView):  # type: ignore[misc]
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.OIDC_OP_AUTH_ENDPOINT = provider.endpoints().authorization


@require_GET
def start(request: HttpRequest) -> HttpResponse:
    """Send the browser to the provider, with a new state, nonce and PKCE challenge kept in
    this session (`next` is kept too, when it is a page of this site)."""
    _enabled()
    try:
        response: HttpResponse = _RequestView.as_view()(request)
    except provider.ProviderUnavailable as exc:
        audit_log.warning("sso.provider_unavailable error=%s", exc)
        messages.error(request, _("The identity provider cannot be reached. Try again later."))
        return redirect("accounts:login")
    return response


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    _enabled()
    states = request.session.get("oidc_states") or {}
    state = request.GET.get("state", "")
    # A state is used once, whatever happens next.
    expected = states.pop(state, None) if state else None
    if "oidc_states" in request.session:
        request.session["oidc_states"] = states
    try:
        if request.GET.get("error"):
            raise Refused("provider_error")
        if not isinstance(expected, dict) or not request.GET.get("code"):
            raise Refused("invalid")
        if AxesProxyHandler.is_locked(request, {"username": ""}):
            raise Refused("locked")
        user, created = sign_in(
            request, nonce=expected.get("nonce", ""), code_verifier=expected.get("code_verifier")
        )
        if AxesProxyHandler.is_locked(request, {"username": user.email}):
            raise Refused("locked", user.email)
    except Refused as refusal:
        return _refuse(request, refusal)
    next_url = str(request.session.pop("oidc_login_next", None) or "")
    return _signed_in(request, user, created, next_url)


def _refuse(request: HttpRequest, refusal: Refused) -> HttpResponse:
    audit_log.warning("sso.refused reason=%s email=%s", refusal.reason, refusal.email)
    # The signal Django sends for a wrong password: the audit log records it and django-axes
    # counts it (and, past the limit, AxesMiddleware answers with the lockout page).
    user_login_failed.send(
        sender=__name__,
        credentials={"username": refusal.email, "method": "sso", "reason": refusal.reason},
        request=request,
    )
    messages.error(request, refusal.text)
    return redirect("accounts:login")


def _signed_in(request: HttpRequest, user: User, created: bool, next_url: str) -> HttpResponse:
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = str(settings.LOGIN_REDIRECT_URL)
    if asks_for_code(user):
        return start_second_step(request, user, next_url, method="sso")
    request.sign_in_method = "sso"  # type: ignore[attr-defined]  # read by the audit log
    login(request, user, backend=SESSION_BACKEND)
    if created:
        messages.success(request, _("Welcome to Postroom: your account and workspace are ready."))
    return redirect(next_url)
