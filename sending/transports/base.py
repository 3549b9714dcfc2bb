"""The one interface every transport speaks, and the message and result it speaks in.

A transport is opened once, sends any number of messages over the same connection, and is
closed: `with transport_for(account) as t: t.send(message)`. `send()` never raises for a
delivery problem; it returns a classified `SendResult` (see `sending.classify`), so the engine
decides on retries from data, not from exceptions. The engine sends a batch through
`send_all`: one message at a time by default, pipelined where the transport can.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Protocol, Self, TypeVar

from content.message import Attachment, RenderedMessage

K = TypeVar("K")  # the caller's key of each message, given back with its result


class SendKind(enum.StrEnum):
    SENT = "sent"
    TEMPORARY = "temporary"  # try again later
    PERMANENT = "permanent"  # never try this message again
    AUTH = "auth"  # the account's credentials were refused: the account goes to error
    CONNECTION = "connection"  # the account's server is unreachable or broke: back it off
    AMBIGUOUS = "ambiguous"  # the server may have the message: retry with the same Message-ID
    # The service keeps the address on its own suppression list (earlier bounces, complaints,
    # its user's choice) and sends nothing to it: the delivery ends as suppressed.
    SUPPRESSED = "suppressed"
    # The account's provider says its sending limit for the day is used up (before our own
    # daily limit): the account's day is over, nothing is wrong with the message.
    QUOTA = "quota"


@dataclass(frozen=True)
class SendResult:
    kind: SendKind
    reply: str = ""  # the server's reply or the error, in words
    code: int | None = None
    enhanced: str | None = None  # RFC 3463 status code, e.g. "5.1.1"
    suppress: bool = False  # the address does not exist: never send to it again
    message_id: str | None = None  # the provider's id for API transports
    refused: tuple[str, ...] = ()  # recipients refused when others were accepted
    retry_after: float | None = None  # seconds the service asked to wait (HTTP Retry-After)

    @property
    def ok(self) -> bool:
        return self.kind == SendKind.SENT

    @property
    def account_fault(self) -> bool:
        return self.kind in (SendKind.AUTH, SendKind.CONNECTION, SendKind.QUOTA)


@dataclass(frozen=True)
class OutgoingMessage:
    """What a transport sends: the envelope, the raw bytes, and the parts API transports need."""

    envelope_from: str
    recipients: tuple[str, ...]
    raw: bytes
    message_id: str
    from_email: str = ""
    subject: str = ""
    text: str = ""
    html: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    attachments: tuple[Attachment, ...] = field(default=())
    # Every line of `raw` ends in CRLF, with no bare CR or LF anywhere, as the renderer
    # writes it (RenderedMessage): the SMTP wire then skips the check, a third of its work.
    crlf: bool = False

    @classmethod
    def from_rendered(
        cls, message: RenderedMessage, *, envelope_from: str | None = None
    ) -> OutgoingMessage:
        return cls(
            envelope_from=envelope_from or message.from_email,
            recipients=tuple(message.to),
            raw=message.raw,
            message_id=message.header("Message-ID") or "",
            from_email=message.from_email,
            subject=message.subject,
            text=message.text,
            html=message.html,
            headers=tuple(message.headers),
            attachments=tuple(message.attachments),
            crlf=True,
        )

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def with_raw(self, raw: bytes, *, crlf: bool = False) -> OutgoingMessage:
        """This message with other raw bytes; `crlf` as the field says of them."""
        return replace(self, raw=raw, crlf=crlf)


class Transport(Protocol):
    """Opened once, used for many messages, closed. Context manager."""

    def open(self) -> None:
        """Connect and authenticate; raises TransportError with a classified result."""

    def send(self, message: OutgoingMessage) -> SendResult:
        """Send one message; opens the connection first if needed. Never raises for delivery."""

    def send_all(
        self, source: Iterator[tuple[K, OutgoingMessage]], stop: Callable[[], bool]
    ) -> Generator[tuple[K, SendResult | None], None, None]:
        """Send the messages `source` gives, in order, asking `stop()` before taking each;
        yield each one's result with its key. A message taken always gets a result; None
        means it was not tried (and may be sent later). After an account fault (refused
        credentials, unreachable server) nothing more is taken from `source`."""

    def close(self) -> None:
        """Close the connection; safe to call twice or after a failure."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class TransportError(Exception):
    """Opening a transport failed; `result` says how (auth, connection, ...)."""

    def __init__(self, result: SendResult) -> None:
        super().__init__(result.reply)
        self.result = result


class TransportBase(ABC):
    """What the transports share: the context-manager plumbing, and `send_all` one message
    at a time (the SMTP client the engine uses pipelines instead)."""

    @abstractmethod
    def send(self, message: OutgoingMessage) -> SendResult:
        """See `Transport.send`."""

    def send_all(
        self, source: Iterator[tuple[K, OutgoingMessage]], stop: Callable[[], bool]
    ) -> Generator[tuple[K, SendResult | None], None, None]:
        """See `Transport.send_all`."""
        while not stop():
            item = next(source, None)
            if item is None:
                return
            result = self.send(item[1])
            yield item[0], result
            if result.account_fault:
                return

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
