"""JWTs that can be revoked: each carries a stamp of its user's password and token generation.

Changing the password (by any path) or calling `accounts.services.user_revoke_tokens` (a block,
a change of the second factor) changes the stamp, and every token with the old one is refused:
access tokens at once, refresh tokens at the refresh. Refresh tokens are also rotated: each
refresh returns a new one and puts the old one on simplejwt's blacklist.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer, TokenVerifySerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token, UntypedToken

from accounts.models import User
from accounts.selectors import user_get
from core.digits import is_number

STAMP_CLAIM = "stamp"


def token_stamp(user: User) -> str:
    """A keyed digest of the password hash and the token generation; reveals neither."""
    value = f"{user.password}:{user.token_generation}"
    return salted_hmac("postroom.api.token-stamp", value, algorithm="sha256").hexdigest()[:32]


class StampedRefreshToken(RefreshToken):
    """simplejwt's refresh token with the stamp; the access tokens made from it copy it."""

    @classmethod
    def for_user(cls, user: Any) -> StampedRefreshToken:
        token = super().for_user(user)
        token[STAMP_CLAIM] = token_stamp(user)
        return token  # type: ignore[return-value] # simplejwt's for_user makes a `cls`


def user_of_token(token: Token) -> User:
    """The live user a token was issued to, or AuthenticationFailed saying why not."""
    claim = str(token.get(api_settings.USER_ID_CLAIM, ""))
    user = user_get(int(claim)) if is_number(claim) else None
    if user is None:
        raise exceptions.AuthenticationFailed(
            _("This token's account no longer exists."), code="user_not_found"
        )
    if not (user.is_active and user.is_verified):
        raise exceptions.AuthenticationFailed(
            _("This account is blocked or not confirmed."), code="no_active_account"
        )
    if token.get(STAMP_CLAIM) != token_stamp(user):
        raise exceptions.AuthenticationFailed(
            _(
                "This token was revoked (the password changed or the account was blocked). "
                "Sign in again."
            ),
            code="token_revoked",
        )
    return user


class RefreshSerializer(TokenRefreshSerializer):
    """Rotation with the checks simplejwt leaves out: the user still exists, is active and the
    token was not revoked. The old token's row is locked, so two refreshes with one token
    cannot both succeed."""

    token_class = StampedRefreshToken

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        with transaction.atomic():
            token = self.token_class(attrs["refresh"])  # signature, expiry, blacklist
            # No ordering: the model's default orders by its nullable user (an outer join,
            # which PostgreSQL cannot lock).
            list(
                OutstandingToken.objects.select_for_update()
                .filter(jti=token[api_settings.JTI_CLAIM])
                .order_by()
                .values_list("pk", flat=True)
            )
            token.check_blacklist()  # again, now that concurrent refreshes wait for us
            user_of_token(token)
            return super().validate(attrs)


class VerifySerializer(TokenVerifySerializer):
    """A token is valid only while its user could use it. A blacklisted token is a 401 like
    any other invalid token (simplejwt's own answer is a 400)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        token = UntypedToken(attrs["token"])
        if BlacklistedToken.objects.filter(token__jti=token.get(api_settings.JTI_CLAIM)).exists():
            raise TokenError(_("Token is blacklisted"))
        user_of_token(token)
        return {}
