"""The relying party's half of the code flow, on mozilla-django-oidc's backend.

The backend is used as a client here, never listed in AUTHENTICATION_BACKENDS: only the
callback view calls it, so no password sign-in can reach it. What it adds to the library:
endpoints from discovery, the ID token's issuer and audience checked (the library checks
neither), the userinfo answer tied to the token's subject, and our own account matching.
"""

from __future__ import annotations

from typing import Any

import jwt
import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.models import User
from accounts.sso import provider
from accounts.sso.services import Refused, user_for_claims


class SSOClient(OIDCAuthenticationBackend):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        found = provider.endpoints()
        self.OIDC_OP_TOKEN_ENDPOINT = found.token
        self.OIDC_OP_USER_ENDPOINT = found.userinfo
        self.OIDC_OP_JWKS_ENDPOINT = found.jwks
        self.created = False

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        if attr == "OIDC_TIMEOUT":
            return settings.OIDC_TIMEOUT
        return OIDCAuthenticationBackend.get_settings(attr, *args)

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        """The ID token's claims, once its signature (by a key of the provider's JWKS),
        issuer, audience and lifetime check out."""
        try:
            header = jwt.get_unverified_header(payload)
            if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
                raise SuspiciousOperation("unexpected ID token algorithm")
            claims: dict[str, Any] = jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=60,
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc
        return claims

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        """The account for the signed-in person; raises Refused (which the library does not
        catch) rather than returning None, so the caller can say why."""
        info = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(info, dict) or info.get("sub") != payload.get("sub"):
            # OpenID Connect Core 5.3.2: a userinfo answer about another subject is not used.
            raise SuspiciousOperation("the userinfo answer is about another subject")
        user, self.created = user_for_claims({**payload, **info})
        return user


def sign_in(request: HttpRequest, *, nonce: str, code_verifier: str | None) -> tuple[User, bool]:
    """Exchange the callback's code, check the ID token and match the account.

    Returns the user and whether it was made now. Raises Refused; any failure of the
    protocol (the provider unreachable, a bad signature, nonce, issuer or audience) is
    Refused("invalid").
    """
    try:
        client = SSOClient()
        user = client.authenticate(request, nonce=nonce, code_verifier=code_verifier)
    except Refused:
        raise
    except (
        SuspiciousOperation,
        provider.ProviderUnavailable,
        requests.RequestException,
        jwt.PyJWTError,
        ValueError,
        KeyError,
        TypeError,
    ) as exc:
        raise Refused("invalid") from exc
    if user is None:
        raise Refused("invalid")
    return user, client.created
