"""The per-delivery links every message carries: one-click unsubscribe and view in browser.

A token names one delivery and is signed with SECRET_KEY, so it cannot be guessed or forged
and needs no table. It lives here, below `tracking` (which serves the links), because the
engine puts the links into messages and may not import the layer above it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

from django.conf import settings
from django.core import signing
from django.urls import reverse

_SALT = "postroom.campaigns.delivery-link"
_MARK = "TOKEN"  # stands for the token while a link's fixed parts are worked out


def token_for(delivery_id: int) -> str:
    """`signing.Signer(salt=_SALT).sign(b62(delivery_id))`, computed the way Signer does but
    with its key derived once: the engine makes one per message."""
    value = signing.b62_encode(delivery_id)
    mac = hmac.new(_signer_key(settings.SECRET_KEY), value.encode(), hashlib.sha256).digest()
    return f"{value}:{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


@functools.lru_cache(maxsize=4)
def _signer_key(secret: str) -> bytes:
    # django.utils.crypto.salted_hmac's key for Signer(salt=_SALT), algorithm sha256
    return hashlib.sha256(f"{_SALT}signer{secret}".encode()).digest()


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


class DeliveryLinks:
    """The per-delivery links with their fixed parts worked out once (per batch): a URL is
    then two concatenations, not a `reverse()`."""

    def __init__(self) -> None:
        self.unsubscribe = unsubscribe_url(_MARK).split(_MARK)
        self.view = view_url(_MARK).split(_MARK)

    def unsubscribe_url(self, token: str) -> str:
        return token.join(self.unsubscribe)

    def view_url(self, token: str) -> str:
        return token.join(self.view)


def message_id_for(delivery_id: int, campaign_id: int, domain: str) -> str:
    """A Message-ID that is the same on every try of a delivery, and unique across installs."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"{campaign_id}.{delivery_id}".encode(), hashlib.sha256
    ).hexdigest()[:12]
    return f"<{campaign_id}.{delivery_id}.{digest}@{domain or 'postroom.invalid'}>"
