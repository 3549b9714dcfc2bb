"""Sign-in by e-mail address, whatever its case."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.models import User, normalize_email
from accounts.selectors import user_get


class EmailBackend(ModelBackend):
    """Django's model backend with the address normalised as it is stored.

    Blocked users (is_active=False) are refused here and lose their sessions, because
    ModelBackend.get_user() refuses them too.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        # Forms send `username`; token endpoints send the USERNAME_FIELD itself (`email`).
        username = username if username is not None else kwargs.pop("email", None)
        if username is not None:
            username = normalize_email(username)
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id: Any) -> User | None:
        """ModelBackend's, with the query compiled once: every signed-in request asks it."""
        user = user_get(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


def axes_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """The address django-axes counts failures against, spelled as it is stored.

    Without this, typing the address in another case would start a fresh count.
    """
    raw = (credentials or {}).get("username") or (credentials or {}).get("email")
    if raw is None and request is not None:
        raw = request.POST.get("username") or request.POST.get("email")
    return normalize_email(str(raw or ""))
