"""DKIM keys: made here, published by the user as a DNS TXT record, used to sign messages.

Signing covers From, To, Subject, Date, Message-ID and, when present, List-Unsubscribe and
List-Unsubscribe-Post, so that receivers can trust the one-click unsubscribe (RFC 8058).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

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


def sign(
    raw: bytes, *, domain: str, selector: str, private_key: str, timestamp: int | None = None
) -> bytes:
    """`raw` with a DKIM-Signature header in front (RFC 6376: relaxed/relaxed, rsa-sha256).

    Written on `cryptography` and `hashlib` rather than dkimpy, which takes milliseconds per
    message: the key is loaded once, the canonical forms are a few byte operations, and what
    is left is the RSA operation itself. dkimpy verifies these signatures in the tests.
    """
    head, _, body = raw.partition(b"\r\n\r\n")
    fields = _header_fields(head)
    present = {name.strip().lower().decode("ascii", "replace") for name, _ in fields}
    names = [name for name in SIGNED_HEADERS if name.lower() in present]
    body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest()).decode()
    stamp = int(time.time()) if timestamp is None else timestamp
    tags = (
        f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain.encode('idna').decode()}; "
        f"s={selector};\r\n t={stamp}; h={':'.join(names)};\r\n bh={body_hash};\r\n b="
    )
    signed = b"".join(_relaxed_header(name, value) for name, value in _pick(fields, names))
    signed += _relaxed_header("DKIM-Signature", tags.encode())[:-2]  # without its CRLF
    signature = _load_key(private_key).sign(signed, padding.PKCS1v15(), hashes.SHA256())
    b64 = base64.b64encode(signature).decode()
    folded = "\r\n ".join(b64[i : i + 72] for i in range(0, len(b64), 72))
    return f"DKIM-Signature: {tags}{folded}\r\n".encode() + raw


@functools.lru_cache(maxsize=32)
def _load_key(private_pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("A DKIM key must be an RSA key.")
    return key


def _header_fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """The header fields as (name, value with its folding), in order."""
    fields: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:  # a folded continuation
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
        else:
            name, _, value = line.partition(b":")
            fields.append((name, value))
    return fields


def _pick(fields: list[tuple[bytes, bytes]], names: list[str]) -> list[tuple[bytes, bytes]]:
    """For each name of h=, its field; the last one when it appears twice (RFC 6376 5.4.2)."""
    last = {name.strip().lower(): (name, value) for name, value in fields}
    return [last[name.lower().encode()] for name in names]


_WSP = re.compile(rb"[ \t]+")
# The body's runs of WSP are compressed as tabs made spaces (translate, at memory speed), then
# runs of two or more spaces made one: a pattern with a literal prefix, which the regular
# expression engine finds by a fast scan. Matching every single space between words, as
# `_WSP` does, cost 20 µs a kilobyte of body.
_TAB_TO_SPACE = bytes.maketrans(b"\t", b" ")
_SPACES = re.compile(rb"  +")


def _relaxed_header(name: str | bytes, value: bytes) -> bytes:
    """RFC 6376 3.4.2: lower-case name, unfolded value, runs of WSP as one space, trimmed."""
    raw_name = name.encode() if isinstance(name, str) else name
    unfolded = _WSP.sub(b" ", value.replace(b"\r\n", b"")).strip(b" ")
    return raw_name.strip().lower() + b":" + unfolded + b"\r\n"


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 3.4.4: runs of WSP as one space, none at line ends, no empty lines at the
    end, and one CRLF at the end of a body that is not empty."""
    if b"\t" in body:
        body = body.translate(_TAB_TO_SPACE)
    if b"  " in body:
        body = _SPACES.sub(b" ", body)
    if b" \r\n" in body:
        body = body.replace(b" \r\n", b"\r\n")
    body = body.rstrip(b" \r\n")
    return body + b"\r\n" if body else b""


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
        # The signature is a header of CRLF-ended lines in front: line ends stay as they were.
        return message.with_raw(raw, crlf=message.crlf)
