"""Signatures of outgoing requests, Stripe-style, so receivers can check origin and age.

    Postroom-Signature: t=1763712000,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

The timestamp is signed with the body, so a receiver that rejects old timestamps (five
minutes is usual) also rejects replays. During a secret rotation the header carries one
`v1=` per valid secret; a receiver accepts the request if any of them matches.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from core.digits import is_number

SECRET_PREFIX = "whsec_"  # noqa: S105 - the public prefix of every secret
HEADER = "Postroom-Signature"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets_: list[str], timestamp: int, body: bytes) -> str:
    parts = [f"t={timestamp}"] + [f"v1={signature(s, timestamp, body)}" for s in secrets_ if s]
    return ",".join(parts)


def verify(header: str, body: bytes, secret: str, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: True if one v1 matches and t is within `tolerance` seconds."""
    fields = [part.partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in fields if key == "t"]
    if len(stamps) != 1 or not is_number(stamps[0]):
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(key == "v1" and hmac.compare_digest(value, expected) for key, _, value in fields)
