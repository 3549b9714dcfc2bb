"""Pages of sign-in security: the second step of sign-in, two-factor settings, sessions."""

from __future__ import annotations

import time
from typing import Any

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import forms, two_factor, user_sessions
from accounts.access import or_404, user_of
from accounts.models import User

PENDING_KEY = "postroom.two-factor.pending"


# --- The second step of sign-in -------------------------------------------------------------


def start_second_step(
    request: HttpRequest, user: User, next_url: str, method: str = "password"
) -> HttpResponse:
    """After a right password (or a single sign-on, `method="sso"`) for a user with
    two-factor sign-in: remember who, not signed in yet, and ask for the code."""
    request.session[PENDING_KEY] = {
        "user_id": user.pk,
        "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[-1]),
        "at": time.time(),
        "next": next_url,
        "method": method,
    }
    return redirect("accounts:login_code")


def _pending_user(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("at", 0)) > settings.TWO_FACTOR_PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    user_id = pending.get("user_id")
    if not isinstance(user_id, int):
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    return (user, pending) if user is not None else None


def login_code(request: HttpRequest) -> HttpResponse:
    found = _pending_user(request)
    if found is None:
        messages.info(request, _("Sign in with your password first."))
        return redirect("accounts:login")
    user, pending = found
    form = forms.CodeForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return render(request, "accounts/login_code.html", {"form": form})
    if not two_factor.code_attempt_allowed(user):
        form.add_error(None, _("Too many wrong codes. Wait a few minutes and try again."))
        return render(request, "accounts/login_code.html", {"form": form}, status=429)
    device = two_factor.code_verify(user=user, code=form.cleaned_data["code"])
    if device is None:
        two_factor.code_failed(user)
        form.add_error("code", _("This code is not valid, or it was used already."))
        return render(request, "accounts/login_code.html", {"form": form}, status=400)
    two_factor.code_failures_reset(user)
    request.session.pop(PENDING_KEY, None)
    request.sign_in_method = str(pending.get("method") or "password")  # type: ignore[attr-defined]  # for the audit log
    login(request, user, backend=pending["backend"])
    django_otp.login(request, device)  # type: ignore[no-untyped-call]
    if device.persistent_id.startswith("otp_static"):
        messages.warning(
            request,
            _("You signed in with a recovery code; %(left)s are left.")
            % {"left": two_factor.recovery_codes_left(user)},
        )
    next_url = str(pending.get("next") or "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = settings.LOGIN_REDIRECT_URL
    return redirect(next_url)


# --- Two-factor settings --------------------------------------------------------------------


@login_required
def two_factor_page(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    return render(
        request,
        "accounts/two_factor.html",
        {
            "enabled": two_factor.has_two_factor(user),
            "codes_left": two_factor.recovery_codes_left(user),
            "reauth_form": forms.ReauthForm(),
        },
    )


@login_required
@require_POST
def two_factor_start(request: HttpRequest) -> HttpResponse:
    try:
        two_factor.totp_start(user=user_of(request))
    except two_factor.TwoFactorError as exc:
        messages.error(request, str(exc))
        return redirect("accounts:two_factor")
    return redirect("accounts:two_factor_setup")


@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Show the QR code of the pending authenticator; a POST confirms it with a code."""
    user = user_of(request)
    device = two_factor.totp_pending(user)
    if device is None:
        return redirect("accounts:two_factor")
    form = forms.CodeForm(request.POST or None)
    form.fields["code"].help_text = _("The 6-digit code your app shows for Postroom.")
    if request.method == "POST" and form.is_valid():
        try:
            codes = two_factor.totp_confirm(user=user, code=form.cleaned_data["code"])
        except two_factor.TwoFactorError as exc:
            form.add_error("code", str(exc))
        else:
            django_otp.login(request, device)  # type: ignore[no-untyped-call]
            # Sessions signed in without the second factor must sign in again with it.
            user_sessions.sessions_end_others(user=user, keep_key=request.session.session_key)
            return _show_codes(request, codes, _("Two-factor sign-in is on."))
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_uri": two_factor.totp_qr_data_uri(device),
            "secret": two_factor.totp_secret(device),
        },
        status=400 if form.errors else 200,
    )


def _show_codes(request: HttpRequest, codes: list[str], title: str) -> HttpResponse:
    response = render(request, "accounts/recovery_codes.html", {"codes": codes, "title": title})
    response["Cache-Control"] = "no-store"  # shown once: no copy in the browser's cache
    return response


def _reauthenticated(request: HttpRequest, user: User) -> bool:
    """A current code (not a recovery code's use) or the password, from ReauthForm."""
    form = forms.ReauthForm(request.POST)
    if not form.is_valid():
        return False
    code, password = form.cleaned_data["code"], form.cleaned_data["password"]
    if code and two_factor.code_verify(user=user, code=code) is not None:
        return True
    return bool(password) and user.check_password(password)


@login_required
@require_POST
def two_factor_recovery_codes(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not _reauthenticated(request, user):
        messages.error(request, _("Enter a current code or your password to make new codes."))
        return redirect("accounts:two_factor")
    try:
        codes = two_factor.recovery_codes_regenerate(user=user)
    except two_factor.TwoFactorError as exc:
        messages.error(request, str(exc))
        return redirect("accounts:two_factor")
    return _show_codes(request, codes, _("New recovery codes"))


@login_required
@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not _reauthenticated(request, user):
        messages.error(request, _("Enter a current code or your password to turn it off."))
        return redirect("accounts:two_factor")
    two_factor.two_factor_disable(user=user)
    messages.success(request, _("Two-factor sign-in is off."))
    return redirect("accounts:two_factor")


# --- Sessions -------------------------------------------------------------------------------


@login_required
@require_POST
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    user = user_of(request)
    session = or_404(user_sessions.user_session_get(user, session_id))
    if session.session_key == request.session.session_key:
        messages.info(request, _("To end this session, sign out."))
        return redirect("accounts:profile")
    user_sessions.session_end(session=session)
    messages.success(request, _("The session is ended: that browser is signed out."))
    return redirect("accounts:profile")


@login_required
@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    ended = user_sessions.sessions_end_others(
        user=user_of(request), keep_key=request.session.session_key
    )
    messages.success(request, _("Other sessions ended: %(count)s.") % {"count": ended})
    return redirect("accounts:profile")
