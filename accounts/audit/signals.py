"""Sign-ins, failed sign-ins and sign-outs, from Django's authentication signals."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import signals


def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from accounts.audit.services import record

    # How: a password (and code) unless the single sign-on callback says otherwise.
    method = getattr(request, "sign_in_method", "password")
    record("user.signed_in", actor=user, target=user, method=method)


def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    from accounts.audit.services import record

    # The address typed, never the password (Django already masks it in `credentials`).
    typed = str(credentials.get("username") or credentials.get("email") or "")[:254]
    # A single sign-on refusal says so, and why (accounts.sso.views).
    detail: dict[str, Any] = {
        k: str(credentials[k]) for k in ("method", "reason") if k in credentials
    }
    record("user.sign_in_failed", actor_email=typed, **detail)


def _signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from accounts.audit.services import record

    if user is not None:
        record("user.signed_out", actor=user, target=user)


def _saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """A new password, however it was set (the profile, a reset link, the API, the admin).

    `AbstractBaseUser.set_password` keeps the raw password in `_password` until `save` has
    told the validators; post_save runs inside that `save`, so it is still there, and no
    other signal says a password changed.
    """
    from accounts.audit.services import record

    if not created and getattr(instance, "_password", None) is not None:
        record("user.password_changed", target=instance)


def connect() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_save

    post_save.connect(_saved, sender=get_user_model(), dispatch_uid="audit.password_changed")
    signals.user_logged_in.connect(_signed_in, dispatch_uid="audit.signed_in")
    signals.user_login_failed.connect(_sign_in_failed, dispatch_uid="audit.sign_in_failed")
    signals.user_logged_out.connect(_signed_out, dispatch_uid="audit.signed_out")
