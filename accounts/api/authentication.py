"""Who is calling: a workspace API key, a JWT, or the browser's session.

A blocked user's tokens and sessions stop working at once (is_active is the block switch);
an unconfirmed user cannot get tokens; a revoked key, or one whose creator is blocked or has
left the workspace, is refused; a key acts with at most its creator's current role. Each
refusal is 401 with a reason.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.api.tokens import user_of_token
from accounts.keys.models import ApiKey
from accounts.keys.selectors import api_key_by_raw, api_key_role
from accounts.keys.services import KEY_PREFIX, api_key_touch


def user_may_authenticate(user: AbstractBaseUser | None) -> bool:
    """simplejwt's rule for issuing tokens: an active user with a confirmed address."""
    return user is not None and user.is_active and getattr(user, "is_verified", False)


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer pr_…` or `X-API-Key: pr_…`."""

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        raw = self._raw_key(request)
        if raw is None:
            return None
        api_key = api_key_by_raw(raw)
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("This API key is unknown or revoked."))
        creator = api_key.created_by
        if creator is None or not creator.is_active:
            raise exceptions.AuthenticationFailed(
                _("The user who created this API key is blocked.")
            )
        if api_key_role(api_key) is None:
            raise exceptions.AuthenticationFailed(
                _("The user who created this API key is no longer a member of its workspace.")
            )
        api_key_touch(api_key=api_key)
        return creator, api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'

    @staticmethod
    def _raw_key(request: Request) -> str | None:
        header = str(request.META.get("HTTP_X_API_KEY", "")).strip()
        if header:
            return header
        parts = get_authorization_header(request).split()
        if len(parts) == 2 and parts[0].lower() == b"bearer":
            token = parts[1].decode(errors="replace")
            if token.startswith(KEY_PREFIX):
                return token
        return None


class JwtAuthentication(JWTAuthentication):
    """simplejwt's authentication, refusing users who are blocked or not yet confirmed, and
    tokens revoked since they were issued (accounts.api.tokens)."""

    def get_user(self, validated_token: Any) -> Any:
        return user_of_token(validated_token)
