"""The per-delivery links every message carries: one-click unsubscribe and view in browser.

A token names one delivery and is signed with SECRET_KEY, so it cannot be guessed or forged
and needs no table. It lives here, below `tracking` (which serves the links), because the
engine puts the links into messages and may not import the layer above it.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core import signing
from django.urls import reverse

_SALT = "postroom.campaigns.delivery-link"


def token_for(delivery_id: int) -> str:
    return signing.Signer(salt=_SALT).sign(signing.b62_encode(delivery_id))


def delivery_of(token: str) -> int | None:
    """The delivery a token names, or None for a forged or mangled token."""
    try:
        return signing.b62_decode(signing.Signer(salt=_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def site_url() -> str:
    return settings.SITE_URL or f"http://127.0.0.1:{settings.POSTROOM_PORT}"


def unsubscribe_url(token: str) -> str:
    return site_url() + reverse("tracking:unsubscribe", kwargs={"token": token})


def view_url(token: str) -> str:
    return site_url() + reverse("tracking:view", kwargs={"token": token})


def message_id_for(delivery_id: int, campaign_id: int, domain: str) -> str:
    """A Message-ID that is the same on every try of a delivery, and unique across installs."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"{campaign_id}.{delivery_id}".encode(), hashlib.sha256
    ).hexdigest()[:12]
    return f"<{campaign_id}.{delivery_id}.{digest}@{domain or 'postroom.invalid'}>"
