"""OAuth2 for XOAUTH2: the consent that yields a refresh token, and access tokens refreshed
from it before they expire; for anything with `OAuthCredentials` (a sending account, a
bounce mailbox), and the XOAUTH2 answer its server is given.

The refresh token, client secret and access token are stored encrypted on the model. The
token endpoint is checked like an SMTP host (no private addresses unless allowed) and must be
HTTPS outside development. authlib's OAuth2Session builds the token requests (the grants,
the client's credentials in the form, as before); the connections under it are ours.
"""

from __future__ import annotations

import json
import socket
import urllib.parse
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from requests.exceptions import RequestException
from urllib3 import HTTPConnectionPool
from urllib3.connection import HTTPConnection
from urllib3.exceptions import HTTPError
from urllib3.poolmanager import SSL_KEYWORDS

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
    stored = account.oauth_refresh_token
    payload = _post(
        account,
        lambda session, url, options: session.refresh_token(url, refresh_token=stored, **options),
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
    # Some providers rotate the refresh token (authlib hands the one used back otherwise).
    if isinstance(rotated, str) and rotated and rotated != account.oauth_refresh_token:
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
        account,
        lambda session, url, options: session.fetch_token(
            url, grant_type="authorization_code", code=code, redirect_uri=redirect_uri, **options
        ),
    )
    if not isinstance(payload.get("refresh_token"), str):
        raise OAuthError(_("The provider gave no refresh token: allow offline access and retry"))
    _store_tokens(account, payload, now)


# --- The token endpoint: authlib's OAuth2Session over checked connections -------------------


class _CheckedConnection(HTTPConnection):
    """Connects to a checked address of the host (see sending.network), never re-resolving;
    with `tls`, TLS verified by tls_context() against the host name. urllib3 never sees the
    shared TLS context (it would change its settings): the socket it gets is already TLS."""

    tls = False

    def _new_conn(self) -> socket.socket:
        sock = connect_checked(self.host, self.port, float(settings.SENDING_TIMEOUT))
        if not self.tls:
            return sock
        try:
            return tls_context().wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


class _CheckedTLSConnection(_CheckedConnection):
    tls = True


class _CheckedPool(HTTPConnectionPool):
    ConnectionCls = _CheckedConnection

    def __init__(self, host: str, port: int | None = None, **kwargs: Any) -> None:
        for name in SSL_KEYWORDS:  # TLS is the connection's own (tls_context), not urllib3's
            kwargs.pop(name, None)
        super().__init__(host, port, **kwargs)


class _CheckedTLSPool(_CheckedPool):
    scheme = "https"
    ConnectionCls = _CheckedTLSConnection


class _CheckedAdapter(HTTPAdapter):
    """requests' transport through the checked connections, for both schemes."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _CheckedPool, "https": _CheckedTLSPool}


class _TokenSession(OAuth2Session):  # type: ignore[misc]
    """authlib's OAuth2 client (the grant's form, the client's credentials in it), whose
    answers are read as they always were: at most 64 KiB, in our words when refused."""

    def parse_response_token(self, resp: requests.Response) -> Any:
        try:
            body = resp.raw.read(65536, decode_content=True)
        except (OSError, RequestException, HTTPError) as exc:
            raise OAuthError(
                f"The token endpoint could not be reached: {describe_os_error(_cause(exc))}"
            ) from exc
        finally:
            resp.close()
        self.token = _payload(resp.status_code, body)
        return self.token


def _session(account: OAuthCredentials) -> _TokenSession:
    session = _TokenSession(
        client_id=account.oauth_client_id,
        client_secret=account.oauth_client_secret,
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method's name
    )
    session.trust_env = False  # no proxy from the environment: it would skip the checks
    adapter = _CheckedAdapter(max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _post(
    account: OAuthCredentials, grant: Callable[[_TokenSession, str, dict[str, Any]], object]
) -> dict[str, object]:
    """Ask the account's token endpoint for a grant and return the JSON object it answers:
    `grant` calls the session with the endpoint's URL and the request's options.

    The connection goes to an address that passed the private-address check (the same
    pinning as SMTP), with the timeout of SENDING_TIMEOUT, without redirects. Raises
    OAuthError.
    """
    url = token_endpoint(account)
    scheme = urllib.parse.urlsplit(url).scheme
    if not (scheme == "https" or (scheme == "http" and private_hosts_allowed())):
        # http only for a local endpoint in development
        raise OAuthError("The OAuth2 token endpoint must be an https:// address")
    options = {"timeout": float(settings.SENDING_TIMEOUT), "allow_redirects": False, "stream": True}
    with _session(account) as session:
        try:
            grant(session, url, options)
        except (OSError, RequestException, HTTPError) as exc:
            raise OAuthError(
                f"The token endpoint could not be reached: {describe_os_error(_cause(exc))}"
            ) from exc
        return dict(session.token)


def _cause(exc: BaseException) -> BaseException:
    """The network error under requests' and urllib3's wrappers (a refused address, a timeout,
    TLS), for describe_os_error; `exc` itself when there is none."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        wrapper = type(current).__module__.split(".")[0] in ("requests", "urllib3")
        if isinstance(current, OSError) and not wrapper:
            return current
        linked = [getattr(current, "reason", None), current.__cause__, current.__context__]
        linked += [arg for arg in current.args if isinstance(arg, BaseException)]
        pending += [each for each in linked if isinstance(each, BaseException)]
    return exc


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
