"""The per-delivery links every message carries: one-click unsubscribe, view in browser and,
where tracking is on, the click prefix and the open pixel.

A token names one delivery and is signed with SECRET_KEY, so it cannot be guessed or forged
and needs no table. It lives here, below `tracking` (which serves the links), because the
engine puts the links into messages and may not import the layer above it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

from django.apps import apps
from django.conf import settings
from django.core import signing
from django.urls import reverse

from campaigns import verp

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


def click_prefix(token: str) -> str:
    """`/c/<token>/` on the site: a tracked link is this and the link's index."""
    return site_url() + reverse("tracking:click", kwargs={"token": token, "index": 0})[:-1]


def open_url(token: str) -> str:
    return site_url() + reverse("tracking:open", kwargs={"token": token})


class DeliveryLinks:
    """The per-delivery links with their fixed parts worked out once (per batch): a URL is
    then two concatenations, not a `reverse()`. `mailbox`: the workspace reads a bounce
    mailbox, so unsubscribe requests by mail can be honoured (`unsubscribe_header`)."""

    def __init__(self, *, mailbox: bool = False) -> None:
        self.unsubscribe = unsubscribe_url(_MARK).split(_MARK)
        self.view = view_url(_MARK).split(_MARK)
        self.mailbox = mailbox
        self.click = click_prefix(_MARK).split(_MARK)
        self.open = open_url(_MARK).split(_MARK)

    def unsubscribe_header(self, url: str, return_path: str | None) -> str:
        """List-Unsubscribe: the one-click URL and, where the workspace reads a mailbox that
        the delivery's return path reaches, a `mailto:` naming the delivery (RFC 2369)."""
        if self.mailbox and return_path:
            return f"<{url}>, <mailto:{return_path}?subject=unsubscribe>"
        return f"<{url}>"

    def unsubscribe_url(self, token: str) -> str:
        return token.join(self.unsubscribe)

    def view_url(self, token: str) -> str:
        return token.join(self.view)

    def values(self, token: str) -> dict[str, str]:
        """The per-delivery link placeholders of a message (the tracking ones included)."""
        return {
            "unsubscribe_url": token.join(self.unsubscribe),
            "view_in_browser_url": token.join(self.view),
            "_click": token.join(self.click),
            "_open": token.join(self.open),
        }


def message_id_for(delivery_id: int, campaign_id: int, domain: str) -> str:
    """A Message-ID that is the same on every try of a delivery, and unique across installs."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"{campaign_id}.{delivery_id}".encode(), hashlib.sha256
    ).hexdigest()[:12]
    return f"<{campaign_id}.{delivery_id}.{digest}@{domain or 'postroom.invalid'}>"


def return_path_for(account_domain: str, delivery_id: int) -> str | None:
    """The envelope sender of a delivery's message: `bounces+<token>@<domain>` where the
    account has a return-path domain (VERP), else None (the From address is used)."""
    return verp.return_path(delivery_id, account_domain) if account_domain else None


def has_feedback_mailbox(workspace_id: int) -> bool:
    """Whether the workspace reads an enabled bounce mailbox. Looked up by name: the mailbox
    belongs to `tracking`, above this layer, which must not be imported here."""
    mailbox = apps.get_model("tracking", "BounceMailbox")
    return bool(mailbox.objects.filter(workspace_id=workspace_id, enabled=True).exists())
