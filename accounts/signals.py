"""Receivers of Django's sign-in signals: the accounts app's own bookkeeping of sessions."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts import user_sessions
from accounts.models import User


def record_session(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Every sign-in (password, second step, a test's force_login) lists its session."""
    if request is not None and isinstance(user, User) and hasattr(request, "session"):
        user_sessions.session_record(request=request, user=user)
