"""The per-delivery links every message carries: one-click unsubscribe, view in browser, the
preference centre and, where tracking is on, the click prefix and the open pixel.

A token names one delivery and is signed with SECRET_KEY, so it cannot be guessed or forged
and needs no table. It lives here, below `tracking` (which serves the links), because the
engine puts the links into messages and may not import the layer above it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from collections.abc import Callable

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.encoding import force_bytes

from campaigns import verp
from core.keyed_mac import hmac_sha256

_SALT = "postroom.campaigns.delivery-link"
_MARK = "TOKEN"  # stands for the token while a link's fixed parts are worked out


def token_for(delivery_id: int) -> str:
    """`signing.Signer(salt=_SALT).sign(b62(delivery_id))`, computed the way Signer does but
    with its key derived once: the engine makes one per message."""
    value = signing.b62_encode(delivery_id)
    return f"{value}:{_mac(value, settings.SECRET_KEY).decode()}"


def _mac(value: str, secret: str | bytes) -> bytes:
    digest = hmac_sha256(_signer_key(secret), value.encode())
    return base64.urlsafe_b64encode(digest).rstrip(b"=")


@functools.lru_cache(maxsize=4)
def _signer_key(secret: str | bytes) -> bytes:
    # django.utils.crypto.salted_hmac's key for Signer(salt=_SALT), algorithm sha256
    return hashlib.sha256(f"{_SALT}signer".encode() + force_bytes(secret)).digest()


def delivery_of(token: str) -> int | None:
    """The delivery a token names, or None for a forged or mangled token.

    `Signer(salt=_SALT).unsign` as Signer does it (SECRET_KEY, then each of
    SECRET_KEY_FALLBACKS, compared in constant time) with the keys derived once: every open
    and click asks this."""
    value, sep, mac = token.rpartition(":")
    if not sep:
        return None
    given = mac.encode()
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        if hmac.compare_digest(_mac(value, secret), given):
            try:
                return signing.b62_decode(value)
            except ValueError:
                return None
    return None


def site_url() -> str:
    return settings.SITE_URL or f"http://127.0.0.1:{settings.POSTROOM_PORT}"


def unsubscribe_url(token: str) -> str:
    return site_url() + reverse("tracking:unsubscribe", kwargs={"token": token})


def view_url(token: str) -> str:
    return site_url() + reverse("tracking:view", kwargs={"token": token})


def preferences_url(token: str) -> str:
    # Served by subscriptions (above this layer): named, not imported.
    return site_url() + reverse("preferences:page", kwargs={"token": token})


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
        self.preferences = preferences_url(_MARK).split(_MARK)
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
            "preferences_url": token.join(self.preferences),
            "_click": token.join(self.click),
            "_open": token.join(self.open),
        }


def message_id_for(delivery_id: int, campaign_id: int, domain: str) -> str:
    """A Message-ID that is the same on every try of a delivery, and unique across installs."""
    digest = hmac_sha256(
        settings.SECRET_KEY.encode(), f"{campaign_id}.{delivery_id}".encode()
    ).hex()[:12]
    return f"<{campaign_id}.{delivery_id}.{digest}@{domain or 'postroom.invalid'}>"


def return_path_for(account_domain: str, delivery_id: int) -> str | None:
    """The envelope sender of a delivery's message: `bounces+<token>@<domain>` where the
    account has a return-path domain (VERP), else None (the From address is used)."""
    return verp.return_path(delivery_id, account_domain) if account_domain else None


# Whether a workspace reads an enabled bounce mailbox. The mailbox belongs to `tracking`,
# above this layer, so tracking registers the question's answer at start-up
# (`TrackingConfig.ready`); without it, no workspace has a mailbox.
def _no_mailbox(workspace_id: int) -> bool:
    return False


_mailbox_check: Callable[[int], bool] = _no_mailbox


def mailbox_check_with(check: Callable[[int], bool]) -> None:
    """Register what answers `has_feedback_mailbox` (tracking does, at start-up)."""
    global _mailbox_check
    _mailbox_check = check


def has_feedback_mailbox(workspace_id: int) -> bool:
    """Whether the workspace reads an enabled bounce mailbox (where unsubscribe requests by
    mail can go)."""
    return _mailbox_check(workspace_id)
