"""Read one message that came back to a bounce or reply mailbox: raw bytes in, `Feedback` out.

Pure: no database, no settings. What it recognises, in this order:

1. RFC 5965 feedback reports (ARF): a complaint, with its feedback type and the complaining
   address (`Original-Rcpt-To`, or the returned message's `To`).
2. RFC 3464 delivery status notifications, read with the standard library: one entry per
   recipient block, failed -> hard or soft by the RFC 3463 status code, delayed -> delayed.
3. Auto-replies (RFC 3834 `Auto-Submitted`, `X-Autoreply`, `Precedence: auto_reply`, ...):
   an out-of-office answer is never a bounce.
4. Non-standard bounces (qmail, old Exchange, Yahoo, ...) through flufl.bounce, GNU Mailman's
   detector, tried only on messages that look like they come from a mail system, so that a
   person's reply quoting an address is not read as a bounce.
5. Unsubscribe requests (RFC 2369 `mailto:` with subject "unsubscribe") and replies
   (`In-Reply-To`/`References`).

Anything else, or anything that cannot be read, is `unparsed`: never an exception. Input is
capped (`MAX_BYTES`, parts, recipients, text scanned) so that a 50 MB message or hostile MIME
costs bounded time and memory; what was cut is said in `note`.

Mailbox full (x.2.2, x.3.1) is a soft bounce even with a 5 class: the address exists and the
condition passes, as the big providers treat it. The `cause` tells address errors from policy
refusals (x.7.x) and sender-side errors (x.1.7, x.1.8), which the rules must not turn into a
suppression of the recipient (the same line `sending.classify` draws for SMTP replies).
"""

from __future__ import annotations

import dataclasses
import email
import email.header
import email.parser
import email.policy
import enum
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.message import Message
from email.utils import parseaddr

import flufl.bounce

MAX_BYTES = 512 * 1024  # the part of a message that is read; the rest is ignored
MAX_LINE = 998  # RFC 5322's line limit: longer lines are cut, so no regex sees more
MAX_BOUNDARIES = 400  # lines that may start a MIME part ("--…"): what follows is cut
MAX_HEADER_LINES = 1000  # lines of the top header block
MAX_PARTS = 200  # MIME parts walked
MAX_RECIPIENTS = 100  # recipient blocks kept from one report
MAX_TEXT = 256 * 1024  # characters of body text scanned by the heuristics
MAX_FIELD = 1000  # characters kept of a diagnostic, subject or header value
MAX_REPLY_TEXT = 64 * 1024  # characters of a reply's text kept

DEFAULT_VERP_PREFIX = "bounces"


class Kind(enum.StrEnum):
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"
    DELAYED = "delayed"
    COMPLAINT = "complaint"
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"
    UNSUBSCRIBE = "unsubscribe"
    UNPARSED = "unparsed"


# The worst kind of a report with several recipients wins.
_SEVERITY = {Kind.HARD_BOUNCE: 3, Kind.SOFT_BOUNCE: 2, Kind.DELAYED: 1}


class Cause(enum.StrEnum):
    """What a bounce's status code says went wrong (RFC 3463 subject and detail)."""

    UNKNOWN_ADDRESS = "unknown_address"  # x.1.1-6, x.1.10: the mailbox or domain does not exist
    MAILBOX_DISABLED = "mailbox_disabled"  # x.2.1
    MAILBOX_FULL = "mailbox_full"  # x.2.2, x.3.1
    POLICY = "policy"  # x.7.x: refused as spam, blocked, DMARC, ...: the address is fine
    SENDER = "sender"  # x.1.7, x.1.8: our sender address was refused
    OTHER = "other"


@dataclass(frozen=True)
class Affected:
    """One recipient a report is about."""

    address: str
    kind: Kind
    status: str | None = None  # RFC 3463, "5.1.1"
    diagnostic: str = ""
    cause: Cause = Cause.OTHER
    remote_mta: str = ""


@dataclass(frozen=True)
class Feedback:
    """What one returned message says. `recipients` are the addresses it is about: the failed
    ones of a bounce, the complainant, the person who replied or asked to unsubscribe."""

    kind: Kind
    recipients: tuple[Affected, ...] = ()
    message_id: str | None = None  # the Message-ID of our message it is about
    verp_token: str | None = None  # from bounces+<token>@…, unverified (see tracking.feedback.verp)
    feedback_type: str | None = None  # ARF: abuse, fraud, virus, other, not-spam
    in_reply_to: tuple[str, ...] = ()  # Message-IDs a reply names
    detector: str = ""  # "arf", "dsn", "flufl.bounce", "headers", …
    note: str = ""  # why unparsed, or what was cut
    subject: str = ""
    sender: str = ""  # the From address of the returned message
    text: str = ""  # a reply's or auto-reply's text, capped

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(r.address for r in self.recipients)

    @property
    def status(self) -> str | None:
        """The status code of the first recipient of the message's kind."""
        first = self._first()
        return first.status if first else None

    @property
    def diagnostic(self) -> str:
        first = self._first()
        return first.diagnostic if first else ""

    def _first(self) -> Affected | None:
        for recipient in self.recipients:
            if recipient.kind == self.kind:
                return recipient
        return self.recipients[0] if self.recipients else None


class _Message(Message):
    """The standard parser's message (compat32), remembering its content type and its
    decoded headers: the classifiers ask for them dozens of times per message, and each ask
    scans every header. Whatever changes a header or the default type forgets them; the
    parser sets the default type before it reads a part's headers, and nothing changes a
    message once parsed."""

    def __init__(self, policy: email.policy.Policy = email.policy.compat32) -> None:
        super().__init__(policy)
        self._content_type: str | None = None
        self._decoded: dict[str, str] = {}

    def get_content_type(self) -> str:
        if self._content_type is None:
            self._content_type = super().get_content_type()
        return self._content_type

    def _forget(self) -> None:
        self._content_type = None
        self._decoded = {}

    def set_default_type(self, ctype: str) -> None:
        self._forget()
        super().set_default_type(ctype)

    def set_raw(self, name: str, value: object) -> None:
        # the parser's call for each header read: nothing to forget yet, and it must be cheap
        if self._content_type is not None or self._decoded:
            self._forget()
        super().set_raw(name, value)  # type: ignore[arg-type]

    def __setitem__(self, name: str, val: object) -> None:
        self._forget()
        super().__setitem__(name, val)  # type: ignore[assignment]

    def __delitem__(self, name: str) -> None:
        self._forget()
        super().__delitem__(name)

    def add_header(self, _name: str, _value: str, **_params: object) -> None:
        self._forget()
        super().add_header(_name, _value, **_params)  # type: ignore[arg-type]

    def replace_header(self, _name: str, _value: object) -> None:
        self._forget()
        super().replace_header(_name, _value)  # type: ignore[arg-type]

    def set_boundary(self, boundary: str) -> None:
        self._forget()
        super().set_boundary(boundary)


def _message_parser(message_class: type[Message] = _Message) -> email.parser.BytesParser:
    return email.parser.BytesParser(_class=message_class, policy=email.policy.compat32)


def _header_parser(like: Message) -> email.parser.HeaderParser:
    """A parser of header blocks found inside `like`, making messages of its own class."""
    return email.parser.HeaderParser(_class=type(like), policy=email.policy.compat32)


def parse(
    raw: bytes,
    *,
    verp_prefix: str = DEFAULT_VERP_PREFIX,
    message_class: type[Message] = _Message,
) -> Feedback:
    """Classify one raw message. Never raises: what cannot be read is `Kind.UNPARSED`.

    `message_class` is what the message and the header blocks inside it are parsed into: by
    default a message that remembers its content type and decoded headers; the standard
    library's plain `Message` reads the same, only slower.
    """
    truncated = len(raw) > MAX_BYTES
    try:
        msg = _message_parser(message_class).parsebytes(_bounded(raw[:MAX_BYTES]))
        feedback = _classify(msg, verp_prefix)
    except Exception as exc:  # a parser or detector fault on hostile input: kept, not raised
        return Feedback(Kind.UNPARSED, detector="none", note=f"unreadable ({type(exc).__name__})")
    if truncated:
        cut = f"only the first {MAX_BYTES} of {len(raw)} bytes were read"
        note = f"{feedback.note}; {cut}" if feedback.note else cut
        return dataclasses.replace(feedback, note=note)
    return feedback


def _bounded(data: bytes) -> bytes:
    """The bytes cut so that the standard parser and the detectors meet no pathological shape:
    the parser's cost grows faster than the size with the number of parts, nesting and header
    lines, the detectors' regular expressions with the length of a line."""
    lines = data.split(b"\n")
    if len(max(lines, key=len)) > MAX_LINE:  # max() runs in C: a generator costs twice as much
        data = b"\n".join(line[:MAX_LINE] for line in lines)
    blank = _BLANK_LINE.search(data)
    head = data[: blank.start()] if blank else data
    if head.count(b"\n") > MAX_HEADER_LINES:
        data = b"\n".join(data.split(b"\n", MAX_HEADER_LINES)[:MAX_HEADER_LINES]) + b"\n\n"
    at = -1
    for _ in range(MAX_BOUNDARIES):
        at = data.find(b"\n--", at + 1)
        if at < 0:
            return data
    return data[:at]


_BLANK_LINE = re.compile(rb"\n\r?\n")


# ----------------------------------------------------------------- classification


def _classify(msg: Message, verp_prefix: str) -> Feedback:
    parts = list(_walk(msg))
    returned = _returned_headers(parts)
    feedback = _recognise(msg, parts, returned)
    return dataclasses.replace(
        feedback,
        subject=_header(msg, "Subject"),
        sender=_address(_header(msg, "From")),
        verp_token=_verp_token(msg, parts, returned, verp_prefix),
    )


def _recognise(msg: Message, parts: list[Message], returned: Message | None) -> Feedback:
    found = _arf(parts, returned) or _dsn(parts, returned)
    if found is not None:
        return found
    referenced = _referenced_ids(msg)
    # Bounces carry Auto-Submitted too (RFC 3834 asks it of them), so they are tried first.
    if _looks_like_bounce(msg):
        bounce = _heuristic_bounce(msg, parts, returned)
        if bounce is not None:
            return bounce
    if _is_auto_reply(msg):
        return Feedback(
            Kind.AUTO_REPLY,
            recipients=_from_recipient(msg, Kind.AUTO_REPLY),
            in_reply_to=referenced,
            message_id=referenced[0] if referenced else None,
            detector="headers",
            text=_text(parts, MAX_REPLY_TEXT),
        )
    if _is_unsubscribe_request(msg):
        recipients = _from_recipient(msg, Kind.UNSUBSCRIBE)
        return Feedback(Kind.UNSUBSCRIBE, recipients=recipients, detector="headers")
    if referenced:
        return Feedback(
            Kind.REPLY,
            recipients=_from_recipient(msg, Kind.REPLY),
            in_reply_to=referenced,
            message_id=referenced[0],
            detector="headers",
            text=_text(parts, MAX_REPLY_TEXT),
        )
    return Feedback(
        Kind.UNPARSED,
        detector="none",
        note="not a bounce, complaint, reply or unsubscribe request that could be recognised",
    )


def _walk(msg: Message) -> Iterator[Message]:
    """The message's parts, depth first, at most MAX_PARTS (iterative: deep nesting is hostile
    input, not a reason for a RecursionError)."""
    stack = [msg]
    seen = 0
    while stack and seen < MAX_PARTS:
        part = stack.pop()
        seen += 1
        yield part
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))


# ----------------------------------------------------------------- ARF (RFC 5965)


def _arf(parts: list[Message], returned: Message | None) -> Feedback | None:
    report = next((p for p in parts if p.get_content_type() == "message/feedback-report"), None)
    if report is None:
        return None
    fields = _report_fields(report)
    if not fields:
        return None
    first = fields[0]
    feedback_type = _clean(first.get("Feedback-Type", "")).lower() or "other"
    address = _address(first.get("Original-Rcpt-To", "") or "")
    if not address and returned is not None:
        address = _address(_header(returned, "To"))
    message_id = _message_id(_header(returned, "Message-ID")) if returned is not None else None
    recipients = (Affected(address, Kind.COMPLAINT),) if address else ()
    if feedback_type == "not-spam":
        # A report that a message is wanted: shown, never acted on as a complaint.
        return Feedback(
            Kind.UNPARSED,
            recipients=recipients,
            message_id=message_id,
            feedback_type=feedback_type,
            detector="arf",
            note="a not-spam feedback report: no action",
        )
    return Feedback(
        Kind.COMPLAINT,
        recipients=recipients,
        message_id=message_id,
        feedback_type=feedback_type,
        detector="arf",
    )


# ----------------------------------------------------------------- DSN (RFC 3464)


def _dsn(parts: list[Message], returned: Message | None) -> Feedback | None:
    status_part = next(
        (
            p
            for p in parts
            if p.get_content_type() in ("message/delivery-status", "message/global-delivery-status")
        ),
        None,
    )
    if status_part is None:
        return None
    blocks = _report_fields(status_part)[1:]  # the first block is about the message
    recipients: list[Affected] = []
    for block in blocks[:MAX_RECIPIENTS]:
        affected = _dsn_recipient(block)
        if affected is not None:
            recipients.append(affected)
    message_id = _message_id(_header(returned, "Message-ID")) if returned is not None else None
    if not recipients:
        actions = {_clean(b.get("Action", "")).lower() for b in blocks[:MAX_RECIPIENTS]}
        if actions and actions <= {"delivered", "relayed", "expanded"}:
            # asked for with NOTIFY=SUCCESS, or a relay's courtesy: not an auto-reply either
            return Feedback(
                Kind.UNPARSED,
                message_id=message_id,
                detector="dsn",
                note="a delivery report of success (delivered, relayed or expanded): no action",
            )
        return None
    worst = max(recipients, key=lambda r: _SEVERITY[r.kind])
    return Feedback(worst.kind, recipients=tuple(recipients), message_id=message_id, detector="dsn")


def _dsn_recipient(block: Message) -> Affected | None:
    action = _clean(block.get("Action", "")).lower()
    if action.startswith("delayed"):
        kind = Kind.DELAYED
    elif not action.startswith(("failed", "error")):  # delivered, relayed, expanded
        return None
    else:
        kind = Kind.HARD_BOUNCE
    address = _typed_address(block.get("Original-Recipient", "")) or _typed_address(
        block.get("Final-Recipient", "")
    )
    if not address:
        return None
    diagnostic = _clean(block.get("Diagnostic-Code", ""))
    if ";" in diagnostic and diagnostic.split(";", 1)[0].strip().lower() in (
        "smtp",
        "x-unix",
        "x-postfix",
    ):
        diagnostic = diagnostic.split(";", 1)[1].strip()
    status = _status(_clean(block.get("Status", ""))) or _status_in(diagnostic)
    if kind != Kind.DELAYED:
        kind = _bounce_kind(status)
    return Affected(
        address,
        kind,
        status=status,
        diagnostic=diagnostic[:MAX_FIELD],
        cause=_cause(status),
        remote_mta=_typed_value(block.get("Remote-MTA", "")),
    )


def _report_fields(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/feedback-report part.

    The standard parser gives a list of blocks for message/delivery-status; a
    message/feedback-report (or a malformed status part) arrives as text or as one message.
    """
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks: list[Message] = []
        for item in payload:
            if isinstance(item, Message):
                blocks.append(item)
                # a feedback report is one block whose body holds nothing we need
        return blocks
    if isinstance(payload, str):
        text = payload
        if part.get("Content-Transfer-Encoding", "").lower() in ("base64", "quoted-printable"):
            decoded = part.get_payload(decode=True)
            text = decoded.decode("utf-8", "replace") if isinstance(decoded, bytes) else payload
        chunks = re.split(r"\r?\n[ \t]*\r?\n", text.strip())
        parser = _header_parser(part)
        return [parser.parsestr(chunk) for chunk in chunks[: MAX_RECIPIENTS + 1] if chunk.strip()]
    return []


def _returned_headers(parts: list[Message]) -> Message | None:
    """The headers of our message as the report returned it (message/rfc822 or
    text/rfc822-headers)."""
    for part in parts[1:]:
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        if content_type in ("text/rfc822-headers", "message/global-headers"):
            text = _decoded_text(part)
            return _header_parser(part).parsestr(text)
    return None


# ----------------------------------------------------------------- auto-replies, unsubscribes


_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ _-]?(reply|response|antwort)|out of (the )?office|absence|"
    r"abwesenheit|réponse automatique|автоответ|автоматический ответ|нет на месте|в отпуске)",
    re.IGNORECASE,
)


def _is_auto_reply(msg: Message) -> bool:
    auto_submitted = _header(msg, "Auto-Submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return True
    if any(
        msg.get(name) is not None for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
    ):
        return True
    if _header(msg, "Precedence").lower() in ("auto_reply", "auto-reply"):
        return True
    if _header(msg, "X-Auto-Response-Suppress") and _AUTO_SUBJECT.search(_header(msg, "Subject")):
        return True
    return bool(_AUTO_SUBJECT.search(_header(msg, "Subject")))


def _is_unsubscribe_request(msg: Message) -> bool:
    subject = _header(msg, "Subject").strip().lower()
    return subject == "unsubscribe" or subject.startswith("unsubscribe ")


def _from_recipient(msg: Message, kind: Kind) -> tuple[Affected, ...]:
    address = _address(_header(msg, "Reply-To")) or _address(_header(msg, "From"))
    return (Affected(address, kind),) if address else ()


# ----------------------------------------------------------------- non-standard bounces

_MAILER_SENDER = re.compile(
    r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|maildaemon|noreply-dmarc|bounce|"
    r"mail\.delivery\.subsystem|mdaemon)\b",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (status|failure|notification|has failed)|returned mail|"
    r"failure notice|mail delivery failed|delivery failed|could not be delivered|"
    r"nondeliverable|non-deliverable|не доставлено|недоставлен|ошибка доставки|"
    r"не удалось доставить|unzustellbar|non remis",
    re.IGNORECASE,
)
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_BASIC = re.compile(r"(?<![\d.])([45][0-5]\d)(?:[ :-])")


def _looks_like_bounce(msg: Message) -> bool:
    """Sent by a mail system: the null return path, a daemon's From, a report, a bounce's
    subject."""
    if msg.get("Return-Path") is not None and _header(msg, "Return-Path") in ("<>", ""):
        return True
    sender = _address(_header(msg, "From")) or _header(msg, "From")
    if _MAILER_SENDER.match(sender) or _MAILER_SENDER.match(_display_name(_header(msg, "From"))):
        return True
    if msg.get_content_type() == "multipart/report":
        return True
    return bool(_BOUNCE_SUBJECT.search(_header(msg, "Subject")))


def _heuristic_bounce(
    msg: Message, parts: list[Message], returned: Message | None
) -> Feedback | None:
    temporary, permanent = flufl.bounce.all_failures(msg)
    if not temporary and not permanent:
        return None
    text = _text(parts, MAX_TEXT)
    recipients: list[Affected] = []
    for raw_address in sorted(permanent)[:MAX_RECIPIENTS]:
        address = _normalised(raw_address.decode("ascii", "replace"))
        status, diagnostic = _status_near(text, address)
        recipients.append(
            Affected(address, _bounce_kind(status), status, diagnostic, _cause(status))
        )
    for raw_address in sorted(temporary - permanent)[:MAX_RECIPIENTS]:
        address = _normalised(raw_address.decode("ascii", "replace"))
        status, diagnostic = _status_near(text, address)
        recipients.append(Affected(address, Kind.DELAYED, status, diagnostic, _cause(status)))
    message_id = _message_id(_header(returned, "Message-ID")) if returned is not None else None
    if message_id is None:
        found = re.search(
            r"^\s*Message-ID:\s*(<[^>\s]{1,500}>)", text, re.IGNORECASE | re.MULTILINE
        )
        message_id = found.group(1) if found else None
    worst = max(recipients, key=lambda r: _SEVERITY[r.kind])
    return Feedback(
        worst.kind, recipients=tuple(recipients), message_id=message_id, detector="flufl.bounce"
    )


def _status_near(text: str, address: str) -> tuple[str | None, str]:
    """The status code and its line nearest after a mention of the address in a bounce's text
    (the first mention followed by one); else the first code in the text and, for want of a
    code, the words after the last mention."""
    lowered, wanted = text.lower(), address.lower()
    windows: list[str] = []
    at = lowered.find(wanted)
    while at >= 0 and len(windows) < 5:
        windows.append(text[at : at + 2000])
        at = lowered.find(wanted, at + 1)
    for search in (*windows, text):
        for line in search.splitlines():
            status = _status_in(line)
            if status is not None:
                return status, _clean(line)[:MAX_FIELD]
    following = [_clean(line) for line in (windows or [""])[-1].splitlines()[1:4] if line.strip()]
    return None, " ".join(following)[:MAX_FIELD]


# ----------------------------------------------------------------- status codes


def _status(value: str) -> str | None:
    match = _ENHANCED.fullmatch(value.split()[0] if value.split() else "")
    return ".".join(match.groups()) if match else None


def _status_in(text: str) -> str | None:
    """An enhanced status code in free text; else one made from a basic SMTP code (550 ->
    5.0.0)."""
    match = _ENHANCED.search(text)
    if match:
        return ".".join(match.groups())
    basic = _BASIC.search(text + " ")
    if basic:
        return f"{basic.group(1)[0]}.0.0"
    return None


def _bounce_kind(status: str | None) -> Kind:
    if status is None:
        return Kind.HARD_BOUNCE  # failed, no code: the report says it failed for good
    if status.startswith("4") or _cause(status) == Cause.MAILBOX_FULL:
        return Kind.SOFT_BOUNCE
    return Kind.HARD_BOUNCE


def _cause(status: str | None) -> Cause:
    if status is None:
        return Cause.OTHER
    _, subject, detail = status.split(".")
    if subject == "1":
        if detail in ("7", "8"):
            return Cause.SENDER
        return (
            Cause.UNKNOWN_ADDRESS if detail in ("0", "1", "2", "3", "4", "6", "10") else Cause.OTHER
        )
    if (subject, detail) == ("2", "1"):
        return Cause.MAILBOX_DISABLED
    if (subject, detail) in (("2", "2"), ("3", "1")):
        return Cause.MAILBOX_FULL
    if subject == "7":
        return Cause.POLICY
    return Cause.OTHER


# ----------------------------------------------------------------- headers, addresses, text


def _header(msg: Message | None, name: str) -> str:
    """A header's value, RFC 2047 words decoded, whitespace folded, capped; "" when absent.

    Raw 8-bit bytes in a header (which the standard parser keeps as "unknown-8bit") are read
    as UTF-8, what such headers are in practice."""
    if msg is None:
        return ""
    cache = msg._decoded if isinstance(msg, _Message) else None
    if cache is not None and name in cache:
        return cache[name]
    decoded = _decoded_header(msg, name)
    if cache is not None:
        cache[name] = decoded
    return decoded


def _decoded_header(msg: Message, name: str) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    try:
        chunks = email.header.decode_header(value)
    except (ValueError, LookupError, UnicodeError, HeaderParseError):
        return _clean(str(value))[:MAX_FIELD]
    pieces = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            pieces.append(chunk)
            continue
        try:
            pieces.append(chunk.decode(charset or "utf-8", "replace"))
        except LookupError:  # unknown-8bit, or a charset Python does not know
            pieces.append(chunk.decode("utf-8", "replace"))
    return _clean("".join(pieces))[:MAX_FIELD]


def _clean(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _normalised(address: str) -> str:
    """An address as reports give it, trimmed, its domain in lower case."""
    address = address.strip().strip("<>").strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return ""
    return f"{local}@{domain.lower()}"[:320]


@functools.lru_cache(maxsize=512)
def _address(value: str) -> str:
    # cached: a message's From is read three times, and a chunk's reports share senders
    return _normalised(parseaddr(value)[1]) if value else ""


@functools.lru_cache(maxsize=512)
def _display_name(value: str) -> str:
    return parseaddr(value)[0]


def _typed_address(value: object) -> str:
    """`rfc822; someone@example.com` (RFC 3464 address-type; value) -> the address."""
    text = _clean(value)
    if not text:
        return ""
    address = text.split(";", 1)[1] if ";" in text else text
    return _normalised(address)


def _typed_value(value: object) -> str:
    text = _clean(value)
    return (text.split(";", 1)[1] if ";" in text else text).strip()[:MAX_FIELD]


_MESSAGE_ID = re.compile(r"<[^<>\s]{1,500}>")


def _message_id(value: str) -> str | None:
    found = _MESSAGE_ID.search(value)
    return found.group(0) if found else None


def _referenced_ids(msg: Message) -> tuple[str, ...]:
    """Message-IDs in In-Reply-To, then References (newest last there), without repeats."""
    ids: list[str] = []
    for name in ("In-Reply-To", "References"):
        ids.extend(_MESSAGE_ID.findall(str(msg.get(name, "") or "")))
    return tuple(dict.fromkeys(ids))[:50]


def _verp_token(
    msg: Message, parts: list[Message], returned: Message | None, prefix: str
) -> str | None:
    """The token of `<prefix>+<token>@…` in the headers that name where the message was
    delivered, then in the report's own fields (ARF's Original-Mail-From, Postfix's sender),
    then in the returned message's headers (its Return-Path), then in the text."""
    pattern = re.compile(rf"(?<![\w.+-]){re.escape(prefix)}\+([a-z0-9]{{4,60}})@", re.IGNORECASE)
    names = (
        "Delivered-To",
        "X-Original-To",
        "Envelope-To",
        "X-Envelope-To",
        "To",
        "Cc",
        "Original-Mail-From",
        "X-Postfix-Sender",
    )
    report = next(
        (
            p
            for p in parts
            if p.get_content_type() in ("message/feedback-report", "message/delivery-status")
        ),
        None,
    )
    fields = _report_fields(report)[:1] if report is not None else []
    sources = [msg, *fields, returned]
    for source in sources:
        if source is None:
            continue
        for name in (*names, "Return-Path"):
            for value in source.get_all(name, []) or []:
                found = pattern.search(str(value))
                if found:
                    return found.group(1).lower()
    found = pattern.search(_text(parts, MAX_TEXT))
    return found.group(1).lower() if found else None


def _decoded_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload[: MAX_TEXT * 4].decode(charset, "replace")
    except LookupError:
        return payload[: MAX_TEXT * 4].decode("utf-8", "replace")


def _text(parts: list[Message], limit: int) -> str:
    """The text/plain parts (text/html when there is none) joined, at most `limit` chars."""
    chosen = [p for p in parts if p.get_content_type() == "text/plain"] or [
        p for p in parts if p.get_content_type() == "text/html"
    ]
    pieces: list[str] = []
    size = 0
    for part in chosen:
        piece = _decoded_text(part)
        if part.get_content_type() == "text/html":
            piece = re.sub(r"<[^>]{0,2000}>", " ", piece)
        pieces.append(piece)
        size += len(piece)
        if size >= limit:
            break
    return "\n".join(pieces)[:limit]
