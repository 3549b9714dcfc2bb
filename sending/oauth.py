"""OAuth2 access tokens for XOAUTH2: refreshed from the stored refresh token before they expire.

The refresh token, client secret and access token are stored encrypted on the account. The
token endpoint is checked like an SMTP host (no private addresses unless allowed) and must be
HTTPS outside development.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

from django.conf import settings

from sending.models import OAUTH_PRESETS, SendingAccount
from sending.network import private_hosts_allowed, resolve_checked

# Refresh this long before the provider's expiry, so a token never dies mid-connection.
EARLY = timedelta(seconds=120)


class OAuthError(Exception):
    """The access token could not be refreshed; the message says why, in words."""


def token_endpoint(account: SendingAccount) -> str:
    if account.oauth_token_endpoint:
        return account.oauth_token_endpoint
    preset = OAUTH_PRESETS.get(account.oauth_provider)
    if preset is None:
        raise OAuthError("No OAuth2 token endpoint is set for this account")
    return preset[3]


def access_token(account: SendingAccount, now: datetime) -> str:
    """A valid access token: the stored one if it lives long enough, else a refreshed one."""
    expires = account.oauth_access_token_expires_at
    stored: str = account.oauth_access_token
    if stored and expires is not None and expires - EARLY > now:
        return stored
    return refresh(account, now)


def refresh(account: SendingAccount, now: datetime) -> str:
    """Ask the token endpoint for a new access token, store it (encrypted) and return it.

    Raises OAuthError when the endpoint is refused, unreachable or refuses the refresh token.
    """
    if not account.oauth_refresh_token:
        raise OAuthError("No OAuth2 refresh token is stored for this account")
    payload = _post(
        token_endpoint(account),
        {
            "grant_type": "refresh_token",
            "refresh_token": account.oauth_refresh_token,
            "client_id": account.oauth_client_id,
            "client_secret": account.oauth_client_secret,
        },
    )
    token = payload.get("access_token")
    if not isinstance(token, str) or not token:
        raise OAuthError("The token endpoint answered without an access token")
    lifetime = payload.get("expires_in", 3600)
    if not isinstance(lifetime, int | str):
        lifetime = 3600
    account.oauth_access_token = token
    account.oauth_access_token_expires_at = now + timedelta(seconds=int(lifetime))
    fields = ["oauth_access_token", "oauth_access_token_expires_at"]
    rotated = payload.get("refresh_token")
    if isinstance(rotated, str) and rotated:  # some providers rotate the refresh token
        account.oauth_refresh_token = rotated
        fields.append("oauth_refresh_token")
    account.save(update_fields=fields)
    return token


def _post(url: str, form: dict[str, str]) -> dict[str, object]:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "https" and not (parsed.scheme == "http" and private_hosts_allowed()):
        raise OAuthError("The OAuth2 token endpoint must be an https:// address")
    try:
        resolve_checked(parsed.hostname or "", parsed.port or 443)
    except OSError as exc:
        raise OAuthError(f"The token endpoint cannot be used: {exc}") from exc
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=urllib.parse.urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.SENDING_TIMEOUT) as response:  # noqa: S310
            body = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise OAuthError(_refusal(exc)) from exc
    except (OSError, ValueError) as exc:
        raise OAuthError(f"The token endpoint could not be reached: {exc}") from exc
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise OAuthError("The token endpoint did not answer with JSON") from exc
    if not isinstance(payload, dict):
        raise OAuthError("The token endpoint did not answer with a JSON object")
    return payload


def _refusal(exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(exc.read(4096)).get("error", "")
    except (ValueError, AttributeError, OSError):
        detail = ""
    if detail == "invalid_grant":
        return "The refresh token was refused (invalid_grant): connect the account again"
    return f"The token endpoint refused the refresh ({exc.code} {detail or exc.reason})"
