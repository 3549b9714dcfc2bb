"""Signatures of outgoing requests, so receivers can check origin and age. Every request
carries two schemes, keyed with the same secret:

    Postroom-Signature: t=1763712000,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

    webhook-id: <the request's id, the same on every retry>
    webhook-timestamp: 1763712000
    webhook-signature: v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>

The second is Standard Webhooks (https://www.standardwebhooks.com/), which receivers check
with its ready-made verifiers; the first is Postroom's own, kept so that existing receivers
go on working. Standard Webhooks names a key by `whsec_` and the key's base64, and a secret
is made in that form (`whsec_` + base64 of 32 random bytes), so the one string a user keeps
works in both schemes: a Standard Webhooks verifier decodes it to its key, and
Postroom-Signature is keyed with the string's UTF-8 bytes, as it has always been.

Secrets made before that (`whsec_` + URL-safe text, never ending in `=`) are not base64 of a
key: for them the Standard Webhooks key is the string's UTF-8 bytes, and `standard_secret()`
gives the form a verifier takes. The two kinds cannot be confused: a new secret is 44
characters of the standard base64 alphabet ending in `=`, an old one has no `=`.

The timestamp is signed with the body, so a receiver that rejects old timestamps (five
minutes is usual) also rejects replays. During a secret rotation each header carries one
signature per valid secret; a receiver accepts the request if any of them matches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from core.digits import is_number

SECRET_PREFIX = "whsec_"  # noqa: S105 - the public prefix of every secret
HEADER = "Postroom-Signature"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
KEY_BYTES = 32
# A secret that is itself a Standard Webhooks secret: whsec_ and the base64 of KEY_BYTES.
_STANDARD_FORM = re.compile(r"whsec_([A-Za-z0-9+/]{43}=)\Z")


def new_secret() -> str:
    """A secret in the Standard Webhooks form, so receivers keep one string for both schemes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets_: list[str], timestamp: int, body: bytes) -> str:
    parts = [f"t={timestamp}"] + [f"v1={signature(s, timestamp, body)}" for s in secrets_ if s]
    return ",".join(parts)


def standard_key(secret: str) -> bytes:
    """The Standard Webhooks key of a secret: what follows `whsec_`, decoded, for a secret
    made in that form; the string's UTF-8 bytes for one made before."""
    found = _STANDARD_FORM.match(secret)
    return base64.b64decode(found.group(1)) if found else secret.encode()


def standard_secret(secret: str) -> str:
    """The secret as Standard Webhooks verifiers take it: `whsec_` + base64 of the key; the
    secret itself when it was made in that form."""
    return SECRET_PREFIX + base64.b64encode(standard_key(secret)).decode()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    message = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def standard_headers(
    secrets_: list[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The Standard Webhooks headers: one space-separated `v1,…` per secret."""
    signatures = [standard_signature(s, message_id, timestamp, body) for s in secrets_ if s]
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: " ".join(signatures),
    }


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
