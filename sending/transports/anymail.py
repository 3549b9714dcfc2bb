"""E-mail service APIs through django-anymail, configured per account (never per site).

Each account builds its own anymail backend with its own credentials; the message is rebuilt
from the rendered parts, keeping the Message-ID and List-Unsubscribe headers. Anymail's
statuses and errors become SendResults like SMTP replies do.
"""

from __future__ import annotations

import time
from email.header import decode_header, make_header
from email.utils import parseaddr, parsedate_to_datetime
from typing import Any

from anymail.exceptions import (  # type: ignore[import-untyped]
    AnymailAPIError,
    AnymailError,
    AnymailRecipientsRefused,
)
from anymail.message import AnymailMessage  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    ConnectionClosedError,
    ReadTimeoutError,
)
from django.core.mail import get_connection
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout
from urllib3.exceptions import ProtocolError

from core.digits import is_number
from sending.models import EspProvider, SendingAccount
from sending.reasons import CREDENTIALS_REFUSED, SENDER_REFUSED
from sending.transports.base import OutgoingMessage, SendKind, SendResult, TransportBase

# Headers anymail builds itself from the message's fields; all others are passed through.
_OWN_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "reply-to",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)


# The metadata key that carries our Message-ID through the service and back in its events.
METADATA_MESSAGE_ID = "postroom_message_id"

MAILGUN_EU_API_URL = "https://api.eu.mailgun.net/v3"


def backend_options(account: SendingAccount) -> tuple[str, dict[str, Any]]:
    """The anymail backend path and its keyword arguments, from the account's credentials."""
    provider = account.esp_provider
    options: dict[str, Any]
    if provider == EspProvider.AMAZON_SES:
        client: dict[str, Any] = {"region_name": account.esp_region or "us-east-1"}
        if account.esp_key_id:
            client["aws_access_key_id"] = account.esp_key_id
            client["aws_secret_access_key"] = account.esp_api_key
        options = {"client_params": client}
    elif provider == EspProvider.POSTMARK:
        options = {"server_token": account.esp_api_key}
    elif provider in (EspProvider.SENDGRID, EspProvider.MAILGUN, EspProvider.BREVO):
        options = {"api_key": account.esp_api_key}
    else:
        raise AnymailError(f"Unknown e-mail service {provider!r}")
    if provider == EspProvider.MAILGUN and account.esp_region.lower() == "eu":
        # A fixed choice, never a typed URL: a typed one would let users aim the server at
        # any address, its own network included.
        options["api_url"] = MAILGUN_EU_API_URL
    return f"anymail.backends.{provider}.EmailBackend", options


def _decoded(value: str) -> str:
    return str(make_header(decode_header(value)))


class AnymailTransport(TransportBase):
    def __init__(self, account: SendingAccount, *, backend: str | None = None) -> None:
        """`backend` replaces the account's provider (anymail's test backend, in tests)."""
        self.account = account
        self._backend_path = backend
        self._connection: Any = None

    def open(self) -> None:
        if self._connection is not None:
            return
        path, options = (
            backend_options(self.account)
            if self._backend_path is None
            else (
                self._backend_path,
                {},
            )
        )
        self._connection = get_connection(path, fail_silently=False, **options)
        self._connection.open()

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def build(self, message: OutgoingMessage) -> AnymailMessage:
        """The message for anymail. No envelope sender: each service manages its own return
        path (and most refuse one), so bounces go where the service reports them."""
        headers = {
            name: _decoded(value)
            for name, value in message.headers
            if name.lower() not in _OWN_HEADERS
        }
        if message.message_id:
            headers["Message-ID"] = message.message_id
        sender = message.header("From")
        reply_to = message.header("Reply-To")
        email = AnymailMessage(
            subject=message.subject,
            body=message.text,
            from_email=_decoded(sender) if sender else message.from_email,
            to=list(message.recipients),
            reply_to=[_decoded(reply_to)] if reply_to else None,
            headers=headers,
        )
        if message.message_id:
            # Every service hands metadata back in its events webhook (tracking.esp), which is
            # how an event finds its delivery: some services replace the Message-ID header.
            email.metadata = {METADATA_MESSAGE_ID: message.message_id}
        if message.html:
            email.attach_alternative(message.html, "text/html")
        for attachment in message.attachments:
            email.attach(attachment.filename, attachment.data, attachment.content_type)
        return email

    def send(self, message: OutgoingMessage) -> SendResult:
        email: AnymailMessage | None = None
        try:
            self.open()
            email = self.build(message)
            email.connection = self._connection
            email.send()
        except AnymailRecipientsRefused as exc:
            return _refused(email, exc)
        except AnymailAPIError as exc:
            sender = parseaddr(_decoded(message.header("From") or message.from_email))[1]
            return _api_error(exc, self.account.esp_provider, sender)
        except AnymailError as exc:  # configuration, serialization: the account's problem
            return SendResult(SendKind.CONNECTION, f"The e-mail service cannot be used: {exc}")
        return _status(email)


def _api_error(exc: AnymailAPIError, provider: str, sender: str) -> SendResult:
    status = _http_status(exc)
    words = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    answer = _answer(exc)
    # The service's own words (what to fix, often), when the first line does not carry them.
    said = "; ".join(dict.fromkeys(text for _, text in _messages(answer) if text))[:300]
    if said and said not in words:
        words = f"{words.rstrip(': ')}: {said}"
    if status is not None and _sender_refused(provider, status, answer, sender):
        # Every message from this address would be refused: the account goes to error, as
        # with refused credentials, saying what to fix.
        return SendResult(SendKind.AUTH, f"{SENDER_REFUSED}: {words}", status)
    if status in (401, 403):
        return SendResult(SendKind.AUTH, f"{CREDENTIALS_REFUSED}: {words}", status)
    if status is None and _answer_lost(exc):
        return SendResult(
            SendKind.AMBIGUOUS,
            "The request reached the service but its answer never came; it may have taken "
            f"the message: {words}",
        )
    if status is None:
        return SendResult(SendKind.CONNECTION, f"The service could not be reached: {words}")
    if status == 429 or status >= 500:
        # The service (the account), not the recipient, is the problem: the account backs off
        # as after SMTP's 421, and no delivery spends an attempt on it.
        return SendResult(
            SendKind.CONNECTION,
            f"The service asked to try later: {words}",
            status,
            retry_after=_retry_after(exc, time.time()),
        )
    if _recipient_invalid(provider, status, answer):
        return SendResult(
            SendKind.PERMANENT,
            f"The service says the address is not valid: {words}",
            status,
            suppress=True,
        )
    return SendResult(SendKind.PERMANENT, f"The service refused the message: {words}", status)


def _answer(exc: AnymailAPIError) -> dict[str, Any]:
    """The service's error answer as data: the JSON body of a requests-based backend, or
    botocore's parsed error (`Error.Code`, `Error.Message`) for Amazon SES. Empty when none."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response
    try:
        body = response.json() if response is not None else None
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _messages(answer: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) pairs of an error answer, in the shapes the services document."""
    found: list[tuple[str, str]] = []
    errors = answer.get("errors")  # SendGrid: {"errors": [{"field", "message"}, ...]}
    if isinstance(errors, list):
        for error in errors:
            if isinstance(error, dict):
                found.append((str(error.get("field") or ""), str(error.get("message") or "")))
    error = answer.get("Error")  # botocore: {"Error": {"Code", "Message"}}
    if isinstance(error, dict):
        found.append((str(error.get("Code") or ""), str(error.get("Message") or "")))
    for key in ("message", "Message"):  # Mailgun, Brevo; Postmark
        if isinstance(answer.get(key), str):
            found.append(("", answer[key]))
    return found


def _sender_refused(provider: str, status: int, answer: dict[str, Any], sender: str) -> bool:
    """Whether the service refuses the From address or its domain (not the credentials),
    read from the answers each service documents:
    - Amazon SES: 400 MessageRejected "Email address is not verified. The following
      identities failed the check in region ...: <identities>", naming the From address or
      its domain (naming only recipients, it is the sandbox refusing them);
    - SendGrid: 403, an error on the field `from` ("The from address does not match a
      verified Sender Identity");
    - Postmark: 422 with ErrorCode 400 (sender signature not found) or 401 (not confirmed),
      or 300 "Invalid 'From' address" (its other 300s are about recipients or content);
    - Mailgun: 404 "Domain not found: <domain>" (the From domain is not the account's), or
      403 "Domain <domain> is not allowed to send".
    """
    messages = _messages(answer)
    if provider == EspProvider.AMAZON_SES:
        domain = sender.rpartition("@")[2].lower()
        for code, text in messages:
            if code == "MessageRejected" and "not verified" in text:
                failed = text.rpartition(":")[2].replace(",", " ").lower().split()
                if sender.lower() in failed or domain in failed:
                    return True
        return False
    if provider == EspProvider.SENDGRID:
        return status == 403 and any(field == "from" for field, _ in messages)
    if provider == EspProvider.POSTMARK:
        error_code, said = answer.get("ErrorCode"), str(answer.get("Message") or "")
        return error_code in (400, 401) or (
            error_code == 300 and said.startswith("Invalid 'From' address")
        )
    if provider == EspProvider.MAILGUN:
        return any(
            (status == 404 and text.startswith("Domain not found"))
            or (status == 403 and "is not allowed to send" in text)
            for _, text in messages
        )
    return False


def _recipient_invalid(provider: str, status: int, answer: dict[str, Any]) -> bool:
    """Whether a refused request says the recipient's address itself is not valid (as SMTP's
    5.1.3 does): SendGrid's error on a `personalizations...to...email` field, Mailgun's "to
    parameter is not a valid address", Brevo's "email is not valid in to". Amazon SES's
    "Illegal address" names no address (it may be the sender's) and is not read so."""
    if status != 400:
        return False
    messages = _messages(answer)
    if provider == EspProvider.SENDGRID:
        return any(
            field.startswith("personalizations.") and ".to." in field and "valid address" in text
            for field, text in messages
        )
    if provider == EspProvider.MAILGUN:
        return any(text.startswith("to parameter is not a valid address") for _, text in messages)
    if provider == EspProvider.BREVO:
        return any(text == "email is not valid in to" for _, text in messages)
    return False


def _retry_after(exc: AnymailAPIError, now: float) -> float | None:
    """Seconds the service asked to wait in its Retry-After header (RFC 9110: a number of
    seconds or an HTTP date), or None when it gave none or gave nonsense."""
    response = getattr(exc, "response", None)
    value: Any = None
    if isinstance(response, dict):  # botocore
        value = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("retry-after")
    elif response is not None:
        value = response.headers.get("Retry-After")
    if not isinstance(value, str) or not value.strip():
        return None
    text: str = value.strip()
    if is_number(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    wait: float = when.timestamp() - now
    return max(wait, 0.0)


def _answer_lost(exc: AnymailAPIError) -> bool:
    """The request was sent and the connection then broke or timed out before the answer:
    as after SMTP's final dot, the service may have the message (retried with the same
    Message-ID, its quota kept). A connection never made stays the account's fault."""
    cause = exc.__cause__
    if isinstance(cause, ReadTimeout | ConnectionClosedError | ReadTimeoutError):
        return True
    # requests wraps a connection closed before the answer (urllib3's "Connection aborted").
    return isinstance(cause, RequestsConnectionError) and any(
        isinstance(arg, ProtocolError) for arg in cause.args
    )


def _http_status(exc: AnymailAPIError) -> int | None:
    """The service's HTTP status, or None when no answer came. Requests-based backends give
    it as `status_code`; Amazon SES (boto3) gives botocore's parsed error response instead,
    without which every SES refusal would read as an unreachable service."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        found = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return found if isinstance(found, int) else None
    return None


def _refused(email: AnymailMessage | None, exc: AnymailRecipientsRefused) -> SendResult:
    """Every recipient refused, per recipient (anymail's statuses): `invalid`, the address is
    not valid or does not exist (suppressed as an SMTP unknown user is); `rejected`, the
    service will not send to it (its own suppression list: earlier bounces, complaints, its
    user's choice), which ends the delivery as suppressed."""
    recipients = email.anymail_status.recipients if email is not None else {}
    statuses = {status.status for status in recipients.values()}
    said = f"{', '.join(sorted(statuses)) or 'refused'}: {exc}".splitlines()[0]
    if statuses == {"invalid"}:
        return SendResult(
            SendKind.PERMANENT, f"The service says the address is not valid ({said})", suppress=True
        )
    if "rejected" in statuses:
        return SendResult(
            SendKind.SUPPRESSED,
            f"The service keeps the address on its suppression list and sent nothing ({said})",
        )
    return SendResult(SendKind.PERMANENT, f"The service refused the recipients ({said})")


def _status(email: AnymailMessage) -> SendResult:
    status = email.anymail_status
    statuses = set(status.status or ())
    message_id = status.message_id if isinstance(status.message_id, str) else None
    said = ", ".join(sorted(statuses)) or "no status"
    if message_id:
        # The service's own id, kept in the attempt's reply like an SMTP server's "queued as":
        # what the service's support and its activity log ask for.
        said += f"; its id {message_id}"
    if statuses and statuses <= {"sent", "queued"}:
        return SendResult(SendKind.SENT, f"Accepted by the service ({said})", message_id=message_id)
    if statuses & {"invalid", "rejected"}:
        # Some recipients refused, others accepted (a message to one recipient, as the engine
        # sends, is refused whole through `_refused`).
        return SendResult(SendKind.PERMANENT, f"The service refused the recipient ({said})")
    if "failed" in statuses:
        return SendResult(SendKind.TEMPORARY, f"The service failed to send ({said})")
    return SendResult(
        SendKind.AMBIGUOUS, f"The service gave no clear answer ({said})", message_id=message_id
    )
