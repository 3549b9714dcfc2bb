"""OAuth2 for XOAUTH2: the consent that yields a refresh token, and access tokens refreshed
from it before they expire; for anything with `OAuthCredentials` (a sending account, a
bounce mailbox), and the XOAUTH2 answer its server is given.

The refresh token, client secret and access token are stored encrypted on the model. The
token endpoint is checked like an SMTP host (no private addresses unless allowed) and must be
HTTPS outside development.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext as _

from sending.classify import describe_os_error
from sending.models import OAUTH_PRESETS, OAuthCredentials, OAuthProvider
from sending.network import connect_checked, private_hosts_allowed, tls_context

# Refresh this long before the provider's expiry, so a token never dies mid-connection.
EARLY = timedelta(seconds=120)


class OAuthError(Exception):
    """The access token could not be refreshed; the message says why, in words."""


def xoauth2(user: str, token: str) -> str:
    """The XOAUTH2 initial answer (Google's and Microsoft's SASL mechanism, the same for
    SMTP, IMAP and POP3), before base64."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def token_endpoint(account: OAuthCredentials) -> str:
    if account.oauth_token_endpoint:
        return account.oauth_token_endpoint
    preset = OAUTH_PRESETS.get(account.oauth_provider)
    if preset is None:
        raise OAuthError("No OAuth2 token endpoint is set for this account")
    return preset[3]


def access_token(account: OAuthCredentials, now: datetime) -> str:
    """A valid access token: the stored one if it lives long enough, else a refreshed one."""
    expires = account.oauth_access_token_expires_at
    stored: str = account.oauth_access_token
    if stored and expires is not None and expires - EARLY > now:
        return stored
    return refresh(account, now)


def refresh(account: OAuthCredentials, now: datetime) -> str:
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
    return _store_tokens(account, payload, now)


def _store_tokens(account: OAuthCredentials, payload: dict[str, object], now: datetime) -> str:
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


# --- Consent: how a refresh token is obtained in the first place ------------------------------

# The provider's consent page and the scope that allows SMTP with XOAUTH2.
AUTHORIZE: dict[str, tuple[str, str]] = {
    OAuthProvider.GMAIL: (
        "https://accounts.google.com/o/oauth2/v2/auth",
        "https://mail.google.com/",
    ),
    OAuthProvider.OUTLOOK: (
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "https://outlook.office.com/SMTP.Send offline_access",
    ),
}


def authorization_url(
    account: OAuthCredentials,
    *,
    redirect_uri: str,
    state: str,
    login_hint: str,
    scopes: dict[str, str] | None = None,
) -> str:
    """Where to send the account's owner to grant Postroom access (authorization code flow).

    `scopes` by provider: what is asked for where it is not sending mail by SMTP."""
    endpoint, scope = AUTHORIZE.get(account.oauth_provider) or ("", "")
    if scopes is not None:
        scope = scopes.get(account.oauth_provider, scope)
    if not endpoint or not account.oauth_client_id:
        raise OAuthError(_("Choose Gmail or Outlook and give the OAuth2 client id first"))
    query = {
        "client_id": account.oauth_client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": scope,
        "state": state,
        "access_type": "offline",  # Google: hand out a refresh token
        "prompt": "consent",  # ... every time, even when access was granted before
        "login_hint": login_hint,
    }
    return f"{endpoint}?{urllib.parse.urlencode(query)}"


def exchange_code(
    account: OAuthCredentials, *, code: str, redirect_uri: str, now: datetime
) -> None:
    """Trade the consent page's code for tokens and store them (encrypted).

    Raises OAuthError when the endpoint refuses the code or answers without a refresh token.
    """
    payload = _post(
        token_endpoint(account),
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": account.oauth_client_id,
            "client_secret": account.oauth_client_secret,
        },
    )
    if not isinstance(payload.get("refresh_token"), str):
        raise OAuthError(_("The provider gave no refresh token: allow offline access and retry"))
    _store_tokens(account, payload, now)


class _CheckedHTTPConnection(http.client.HTTPConnection):
    """Connects to a checked address of the host (see sending.network), never re-resolving."""

    def connect(self) -> None:
        self.sock = connect_checked(self.host, self.port, float(settings.SENDING_TIMEOUT))


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    """Like _CheckedHTTPConnection, with TLS verified against the host name."""

    def connect(self) -> None:
        sock = connect_checked(self.host, self.port, float(settings.SENDING_TIMEOUT))
        self.sock = tls_context().wrap_socket(sock, server_hostname=self.host)


def _post(url: str, form: dict[str, str]) -> dict[str, object]:
    """POST the form to the token endpoint and return its JSON object.

    The connection goes to an address that passed the private-address check (the same
    pinning as SMTP), with the timeout of SENDING_TIMEOUT. Raises OAuthError.
    """
    parsed = urllib.parse.urlsplit(url)
    connection: http.client.HTTPConnection
    host = parsed.hostname or ""
    if parsed.scheme == "https":
        connection = _CheckedHTTPSConnection(host, parsed.port or 443)
    elif parsed.scheme == "http" and private_hosts_allowed():  # a local endpoint in development
        connection = _CheckedHTTPConnection(host, parsed.port or 80)
    else:
        raise OAuthError("The OAuth2 token endpoint must be an https:// address")
    path = parsed.path or "/"
    if parsed.query:
        path += f"?{parsed.query}"
    try:
        connection.request(
            "POST",
            path,
            body=urllib.parse.urlencode(form),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        response = connection.getresponse()
        status, body = response.status, response.read(65536)
    except (OSError, http.client.HTTPException) as exc:
        raise OAuthError(
            f"The token endpoint could not be reached: {describe_os_error(exc)}"
        ) from exc
    finally:
        connection.close()
    return _payload(status, body)


def _payload(status: int, body: bytes) -> dict[str, object]:
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if status >= 400:
        error = payload.get("error", "") if isinstance(payload, dict) else ""
        if error == "invalid_grant":
            raise OAuthError(
                "The provider refused the grant (invalid_grant): connect the account again"
            )
        raise OAuthError(f"The token endpoint refused the refresh ({status} {error})".strip())
    if not isinstance(payload, dict):
        raise OAuthError("The token endpoint did not answer with a JSON object")
    return payload
