"""DKIM keys: made here, published by the user as a DNS TXT record, used to sign messages.

Signing covers From, To, Subject, Date, Message-ID and, when present, List-Unsubscribe and
List-Unsubscribe-Post, so that receivers can trust the one-click unsubscribe (RFC 8058).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import BytesHeaderParser

import dkim  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sending.transports.base import OutgoingMessage

SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)


def generate_key_pair() -> tuple[str, str]:
    """A new RSA 2048 key: (private key PEM, public key as the base64 DER of the TXT record)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, base64.b64encode(public_der).decode("ascii")


def sign(raw: bytes, *, domain: str, selector: str, private_key: str) -> bytes:
    """`raw` with a DKIM-Signature header in front (relaxed/relaxed, rsa-sha256)."""
    present = {name.lower() for name in BytesHeaderParser().parsebytes(raw)}
    include = [name.encode() for name in SIGNED_HEADERS if name.lower() in present]
    signature: bytes = dkim.sign(
        raw,
        selector.encode("ascii"),
        domain.encode("idna"),
        private_key.encode("ascii"),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=include,
    )
    # dkimpy ends the header with \n; the message uses CRLF and SMTP needs CRLF.
    return signature.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + raw


@dataclass(frozen=True)
class SigningKey:
    domain: str
    selector: str
    private_key: str


class DkimSigner:
    """Signs each message with the key of its From domain (or a parent domain), if any."""

    def __init__(self, keys: Iterable[SigningKey]) -> None:
        self._keys = {key.domain.lower(): key for key in keys}

    def key_for(self, from_email: str) -> SigningKey | None:
        domain = from_email.rpartition("@")[2].lower()
        while domain:
            if domain in self._keys:
                return self._keys[domain]
            _, _, domain = domain.partition(".")
        return None

    def __call__(self, message: OutgoingMessage) -> OutgoingMessage:
        key = self.key_for(message.from_email or message.envelope_from)
        if key is None:
            return message
        raw = sign(
            message.raw, domain=key.domain, selector=key.selector, private_key=key.private_key
        )
        return message.with_raw(raw)
