"""Amazon SNS message signatures, which anymail does not check.

SNS signs every message with a key whose certificate it serves over HTTPS from its own host;
a message is trusted only when that certificate, fetched from an address allowed by
`TRACKING_SNS_URL_RE`, verifies its signature (SHA1 for SignatureVersion 1, SHA256 for 2).
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings

NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_KEYS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
MAX_CERTIFICATE_BYTES = 64 * 1024
_certificates: dict[str, x509.Certificate] = {}


class SnsSignatureError(Exception):
    """The message is not signed by SNS (or cannot be shown to be)."""


def string_to_sign(message: dict[str, Any]) -> bytes:
    """The canonical text SNS signs: each present key and its value, one per line."""
    keys = NOTIFICATION_KEYS if message.get("Type") == "Notification" else CONFIRMATION_KEYS
    lines = []
    for key in keys:
        value = message.get(key)
        if value is None:
            continue
        lines += [key, str(value)]
    return ("\n".join(lines) + "\n").encode()


def allowed_url(url: str) -> bool:
    """An address SNS serves from (its certificates, its subscription confirmations)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        return False
    return re.match(settings.TRACKING_SNS_URL_RE, url) is not None


def verify(message: dict[str, Any]) -> None:
    """Raise SnsSignatureError unless `message` carries a valid SNS signature."""
    version = str(message.get("SignatureVersion", ""))
    algorithm: hashes.HashAlgorithm
    if version == "1":
        algorithm = hashes.SHA1()  # noqa: S303 - SNS's own SignatureVersion 1
    elif version == "2":
        algorithm = hashes.SHA256()
    else:
        raise SnsSignatureError(f"unknown SignatureVersion {version!r}")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SnsSignatureError("the signature is not base64") from exc
    key = _certificate(str(message.get("SigningCertURL", ""))).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnsSignatureError("the certificate's key is not RSA")
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm)
    except InvalidSignature as exc:
        raise SnsSignatureError("the signature does not match") from exc


def _certificate(url: str) -> x509.Certificate:
    if not allowed_url(url) or not url.endswith(".pem"):
        raise SnsSignatureError("the signing certificate is not at an SNS address")
    cached = _certificates.get(url)
    if cached is not None:
        return cached
    try:
        response = requests.get(url, timeout=10, allow_redirects=False)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise SnsSignatureError(f"the signing certificate could not be fetched: {exc}") from exc
    if len(response.content) > MAX_CERTIFICATE_BYTES:
        raise SnsSignatureError("the signing certificate is too large")
    try:
        certificate = x509.load_pem_x509_certificate(response.content)
    except ValueError as exc:
        raise SnsSignatureError("the signing certificate cannot be read") from exc
    if len(_certificates) > 100:
        _certificates.clear()
    _certificates[url] = certificate
    return certificate


def confirm_subscription(message: dict[str, Any]) -> None:
    """Visit a verified SubscriptionConfirmation's SubscribeURL, as SNS asks."""
    url = str(message.get("SubscribeURL", ""))
    if not allowed_url(url):
        raise SnsSignatureError("the subscription URL is not an SNS address")
    requests.get(url, timeout=10, allow_redirects=False).raise_for_status()
