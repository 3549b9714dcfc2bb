"""Per-delivery return paths (VERP): `bounces+<token>@domain`, so a bounce names its delivery.

The token is signed the way the unsubscribe link's is (`campaigns.links`: Django's Signer,
HMAC-SHA256 keyed by SECRET_KEY and a salt of its own, so one token cannot stand for the
other), but written for a local part: base32 in lower case, because some servers lower-case
the local part of the address they return mail to, and without separators. The delivery id
comes first, then 16 characters (80 bits) of the signature; `bounces+` and a token for any
64-bit id stay far below the 64 characters a local part may have.

Reading back is case-insensitive and returns None for anything forged, cut or garbled. Keys in
SECRET_KEY_FALLBACKS are accepted, as Signer accepts them, so that rotating the secret does not
orphan the bounces of messages already out.

It lives in `campaigns`, below `tracking`, because the engine writes the return path and the
`mailto:` unsubscribe address into messages; `tracking.feedback.verp` reads them back.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re

from django.conf import settings

from core.keyed_mac import hmac_sha256

SALT = "postroom.tracking.verp"
DEFAULT_PREFIX = "bounces"
MAX_LOCAL_PART = 64  # RFC 5321 4.5.3.1.1
_MAC_CHARS = 16  # base32 characters of the signature: 80 bits
_TOKEN = re.compile(rf"[a-z2-7]{{{_MAC_CHARS + 2},{_MAC_CHARS + 13}}}")  # ids of 1 to 8 bytes


def token_for(delivery_id: int) -> str:
    """The token that names `delivery_id` in a return path."""
    if delivery_id < 0:
        raise ValueError("a delivery id is not negative")
    value = _b32(delivery_id.to_bytes(max(1, (delivery_id.bit_length() + 7) // 8), "big"))
    return value + _mac(value, settings.SECRET_KEY)


def delivery_of(token: str) -> int | None:
    """The delivery a token names, or None for a forged, cut or garbled one."""
    token = token.strip().lower()
    if not _TOKEN.fullmatch(token):
        return None
    value, mac = token[:-_MAC_CHARS], token[-_MAC_CHARS:]
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(hmac.compare_digest(mac, _mac(value, secret)) for secret in secrets):
        return None
    try:
        raw = base64.b32decode(value.upper() + "=" * (-len(value) % 8))
    except binascii.Error:
        return None
    return int.from_bytes(raw, "big")


def return_path(delivery_id: int, domain: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    """`<prefix>+<token>@<domain>`: the envelope sender (MAIL FROM) of one delivery's message.

    Raises ValueError for an empty domain or a prefix that makes the local part too long.
    """
    domain = domain.strip().lower()
    if not domain or "@" in domain:
        raise ValueError("a return path needs a domain")
    local = f"{prefix}+{token_for(delivery_id)}"
    if len(local) > MAX_LOCAL_PART:
        raise ValueError(f"the prefix {prefix!r} makes the local part longer than 64 characters")
    return f"{local}@{domain}"


def delivery_of_address(address: str, *, prefix: str = DEFAULT_PREFIX) -> int | None:
    """The delivery a return path names (`bounces+<token>@domain`, any case, in angle brackets
    or not), or None."""
    local, at, _domain = address.strip().strip("<>").rpartition("@")
    wanted = f"{prefix.lower()}+"
    if not at or not local.lower().startswith(wanted):
        return None
    return delivery_of(local[len(wanted) :])


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def _mac(value: str, secret: str) -> str:
    digest = hmac_sha256(_key(secret), value.encode("ascii"))
    return _b32(digest)[:_MAC_CHARS]


@functools.lru_cache(maxsize=8)
def _key(secret: str) -> bytes:
    # django.utils.crypto.salted_hmac's key for Signer(salt=SALT), algorithm sha256: the
    # derivation campaigns.links uses for the unsubscribe token, done once per secret
    return hashlib.sha256(f"{SALT}signer{secret}".encode()).digest()
