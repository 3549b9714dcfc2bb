"""What an SMTP reply or a connection error means for a message and for its account.

RFC 3463 enhanced status codes decide when the server gives one; the basic code otherwise.
Only address errors (5.1.x, null MX) suppress the address; policy refusals (5.7.x) fail the
message and keep the address. 421, refused or reset connections, TLS errors and timeouts are
the account's fault (`connection`), as are refused credentials (`auth`). A connection lost
after the final dot is `ambiguous`: the server may have queued the message.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from typing import Literal

from sending.transports.base import SendKind, SendResult

Stage = Literal["connect", "helo", "starttls", "auth", "mail", "rcpt", "data", "after_dot"]

_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)")
AUTH_CODES = frozenset({530, 534, 535})
# The provider's own sending limit for the account (Gmail's 5.4.5 "Daily user sending quota
# exceeded", Outlook's SubmissionQuotaExceeded, "sending limit exceeded" of others): the
# account's day is over. Not a full mailbox (x.2.2, or 552 at RCPT), which is the recipient's.
_SENDER_QUOTA = re.compile(
    r"(daily|sending|submission|sender|outgoing)\W*(message\W*)?(quota|limits?)\W*"
    r"(exceeded|reached)|SubmissionQuotaExceeded",
    re.IGNORECASE,
)
# Bad sender addresses are 5.1.7/5.1.8: the account's problem, not the recipient's.
_SENDER_SUBJECTS = frozenset({"7", "8"})


class PrivateAddressRefused(OSError):
    """The host resolves to an address Postroom must not connect to (loopback, private, ...)."""


def enhanced_code(text: str) -> str | None:
    match = _ENHANCED.match(text)
    return ".".join(match.groups()) if match else None


def _text(reply: str | bytes) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return reply


def classify_reply(code: int, reply: str | bytes, *, stage: Stage) -> SendResult:
    """Classify one SMTP reply given at `stage`."""
    text = " ".join(_text(reply).split())
    enhanced = enhanced_code(text)
    said = f"{code} {text}".strip()

    def result(kind: SendKind, words: str, suppress: bool = False) -> SendResult:
        return SendResult(kind, f"{words}: {said}", code, enhanced, suppress)

    if code < 400:
        return SendResult(SendKind.SENT, said, code, enhanced)
    if code in AUTH_CODES and stage in ("auth", "mail"):
        return result(SendKind.AUTH, "The server refused the user name or password")
    mailbox_full = (enhanced or "").endswith(".2.2") or (code == 552 and stage == "rcpt")
    if enhanced in ("5.4.5", "4.4.5") or (_SENDER_QUOTA.search(text) and not mailbox_full):
        return result(SendKind.QUOTA, "The provider's sending limit for the day is reached")
    if code == 421:
        return result(SendKind.CONNECTION, "The server is closing the connection")
    if code == 552 and stage == "rcpt":
        return result(SendKind.TEMPORARY, "The mailbox is full or over quota")
    if code >= 500:
        return result(SendKind.PERMANENT, *_permanent_reason(code, enhanced))
    return result(SendKind.TEMPORARY, "The server asked to try again later")


def _permanent_reason(code: int, enhanced: str | None) -> tuple[str, bool]:
    """Words for a 5xx reply, and whether it says the address does not exist."""
    if code == 556 or enhanced == "5.1.10":
        return "The domain accepts no mail (null MX)", True
    if enhanced is not None and enhanced.startswith("5.1."):
        if enhanced.split(".")[2] in _SENDER_SUBJECTS:
            return "The server refused the sender address", False
        return "The address does not exist", True
    if enhanced is not None and enhanced.startswith("5.7."):
        return "The server refused the message by its policy", False
    return "The server refused the message", False


def classify_exception(exc: BaseException, *, stage: Stage) -> SendResult:
    """Classify an exception raised while talking to a server at `stage`."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if stage == "after_dot":
            return SendResult(
                SendKind.AMBIGUOUS,
                "The connection was lost after the message was sent, before the server "
                "confirmed it; it may have been delivered",
            )
        cause = exc.__context__
        if isinstance(cause, OSError):  # smtplib wraps timeouts and resets in a disconnect
            return SendResult(SendKind.CONNECTION, describe_os_error(cause))
        return SendResult(SendKind.CONNECTION, f"The server closed the connection ({exc})")
    if isinstance(exc, smtplib.SMTPResponseException):
        return classify_reply(exc.smtp_code, exc.smtp_error, stage=stage)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SendResult(SendKind.CONNECTION, f"The server does not support this: {exc}")
    return SendResult(SendKind.CONNECTION, describe_os_error(exc))


def describe_os_error(exc: BaseException) -> str:
    """A network error in words a user understands."""
    if isinstance(exc, PrivateAddressRefused):
        return str(exc)
    if isinstance(exc, socket.gaierror):
        return f"Host not found: the name does not resolve ({exc.strerror or exc})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "Timed out: the server did not answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused: nothing accepts connections on that host and port"
    if isinstance(exc, ConnectionResetError):
        return "The connection was reset by the server"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS refused: the server's certificate could not be verified ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS refused: the secure connection failed ({getattr(exc, 'reason', None) or exc})"
    return f"Connection failed: {exc}"
