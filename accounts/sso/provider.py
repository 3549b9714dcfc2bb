"""Where the provider's endpoints are: the settings, or its discovery document."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings

# A discovery document is fetched again after this long (providers rarely move endpoints).
DISCOVERY_SECONDS = 3600

_lock = threading.Lock()
_documents: dict[str, tuple[float, dict[str, object]]] = {}


class ProviderUnavailable(Exception):
    """The discovery document could not be read (the provider is down or misconfigured)."""


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    userinfo: str
    jwks: str


def endpoints() -> Endpoints:
    """The endpoints set in the settings, each one missing taken from discovery.

    Raises ProviderUnavailable when discovery is needed and fails or lacks an endpoint.
    """
    configured = Endpoints(
        authorization=settings.OIDC_OP_AUTHORIZATION_ENDPOINT,
        token=settings.OIDC_OP_TOKEN_ENDPOINT,
        userinfo=settings.OIDC_OP_USER_ENDPOINT,
        jwks=settings.OIDC_OP_JWKS_ENDPOINT,
    )
    if all(vars(configured).values()):
        return configured
    document = _discovery(settings.OIDC_DISCOVERY_URL)
    try:
        return Endpoints(
            authorization=configured.authorization or str(document["authorization_endpoint"]),
            token=configured.token or str(document["token_endpoint"]),
            userinfo=configured.userinfo or str(document["userinfo_endpoint"]),
            jwks=configured.jwks or str(document["jwks_uri"]),
        )
    except KeyError as exc:
        raise ProviderUnavailable(f"the discovery document has no {exc}") from exc


def _discovery(url: str) -> dict[str, object]:
    """The document at `url`, kept DISCOVERY_SECONDS per address (a new address, a new fetch)."""
    now = time.monotonic()
    with _lock:
        kept = _documents.get(url)
    if kept is not None and now - kept[0] < DISCOVERY_SECONDS:
        return kept[1]
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(str(exc)) from exc
    if not isinstance(document, dict):
        raise ProviderUnavailable("the discovery document is not a JSON object")
    if settings.OIDC_ISSUER and str(document.get("issuer", "")).rstrip("/") != settings.OIDC_ISSUER:
        # OpenID Connect Discovery 1.0, 4.3: the issuer must be the one asked about.
        raise ProviderUnavailable("the discovery document names another issuer")
    with _lock:
        _documents[url] = (now, document)
    return document
