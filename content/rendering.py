"""Turn a template into personalised RFC 5322 messages, fast and safely.

`compile_template` does all the work that does not depend on the recipient, once per campaign:
it parses the three parts (see `content.syntax` for the language), inlines the CSS of the HTML
(keeping the `<style>` block for the clients that read it), generates the text part from the
HTML when asked or when the text body is empty, and pre-encodes every static piece of the
bodies as quoted-printable bytes.
`CompiledTemplate.render` then only looks the values up, escapes them (HTML part only) and joins
byte chunks.

Why the pre-encoding is correct: quoted-printable lines must stay under 76 characters, which
depends on what stands next to a value. Each static chunk and each value is encoded on its own
and ends with a soft line break (`=` CRLF), which decoders remove, so no line ever straddles a
value and no per-message re-encoding of the whole body is needed.

What a message looks like on the wire: CRLF line ends, lines of at most 78 octets in the
headers we fold and 76 in the bodies; `multipart/alternative` (text, then HTML) inside
`multipart/mixed` when there are attachments (base64); bodies quoted-printable UTF-8, so it
needs neither 8BITMIME nor SMTPUTF8 (unless an address itself is not ASCII). Header values are
stripped of control characters (so a CR/LF in a name can never start a header) and RFC 2047
encoded when they are not ASCII.

`RenderedMessage.headers` lists the header fields above the MIME structure (From, To, Subject,
Date, Message-ID, Reply-To, the extra headers) unfolded; the MIME-Version and Content-Type
fields are only in `raw`, because transports that build their own MIME (anymail) must not copy
them.

The renderer never touches the database: `compile_template` accepts a `Template` row only to
read its fields and attachment files once.

Use, for a campaign (compile once, render per delivery)::

    compiled = compile_template(template)          # or TemplateParts(...), e.g. a frozen copy
    values = recipient_values(recipient, keys) | {"unsubscribe_url": …, "view_in_browser_url": …}
    message = compiled.render(values, from_email=…, from_name=…, to=recipient.email,
                              reply_to=…, message_id=…, extra_headers={"List-Unsubscribe": …})
    message.raw  # the bytes to send after DATA

and `render_message(template, values, …)` for a single message (previews, test sends).
Failures are ContentError: TemplateSyntaxError when compiling, RenderError when rendering.
"""

from __future__ import annotations

import base64
import binascii
import html as html_lib
import logging
import re
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime, formatdate
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import css_inline
import html2text
from django.conf import settings
from django.utils.translation import gettext as _

from content.message import Attachment, RenderedMessage
from content.syntax import (
    ContentError,
    If,
    Node,
    TemplateErrors,
    TemplateSyntaxError,
    Text,
    Var,
    check_names,
    parse,
    tag_spans,
)

if TYPE_CHECKING:
    from content.models import Template, TemplateAttachment

logger = logging.getLogger(__name__)

SOFT_BREAK = b"=\r\n"
# A short value of printable ASCII but "=", not starting with "." nor ending with a space, is its
# own quoted-printable encoding (most names, cities and URLs without a query).
_QP_SAFE = re.compile(
    r"[\x21-\x2d\x2f-\x3c\x3e-\x7e](?:[\x20-\x3c\x3e-\x7e]*[\x21-\x3c\x3e-\x7e])?\Z"
).match
_NEEDS_ESCAPE = re.compile(r"[&<>\"']").search
# Header values lose every control character; U+2028/2029/0085 are line breaks to some readers.
_CONTROLS = dict.fromkeys([*range(0x20), 0x7F, 0x85, 0x2028, 0x2029], " ")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")
_RESERVED = frozenset(
    {"from", "to", "subject", "date", "message-id", "mime-version", "content-type", "cc", "bcc"}
    | {"content-transfer-encoding", "reply-to"}
)
_PART_SUBJECT, _PART_HTML, _PART_TEXT = "subject", "HTML", "text"


class RenderError(ContentError):
    """A message that cannot be produced from these inputs (too large, a bad header…)."""


@dataclass(frozen=True)
class TemplateParts:
    """What a template is made of, independent of the database."""

    subject: str
    html: str = ""
    text: str = ""
    attachments: tuple[Attachment, ...] = field(default=())
    text_from_html: bool = False  # generate the text part from the HTML at compile time

    @property
    def generates_text(self) -> bool:
        """Whether the text part is made from the HTML: when asked, or when it is left empty
        (an empty text part shows as a blank message in text-only readers and looks like
        spam to filters)."""
        return bool(self.html.strip()) and (self.text_from_html or not self.text.strip())


# --- Compiling ------------------------------------------------------------------------------

# Compiled bodies are flat tuples, tested by their first item, because isinstance checks and
# attribute lookups cost more than the rest of the per-recipient loop:
#   (0, text, qp_bytes, len(text))                    static text
#   (1, name, fallback, fallback_qp, len(fallback))   a value
#   (2, name, negate, then_ops, else_ops)             a condition
# The lengths are there for the size limit, which is checked as the message grows.
Op = tuple[Any, ...]


def parse_parts(
    parts: TemplateParts, allowed: Iterable[str] | None = None
) -> dict[str, tuple[Node, ...]]:
    """Each part's nodes by part name; raise TemplateErrors (a TemplateSyntaxError) with the
    first fault of each faulty part."""
    parsed: dict[str, tuple[Node, ...]] = {}
    errors = _check_parts(parts, allowed, parsed)
    if errors:
        raise TemplateErrors(errors)
    return parsed


def part_errors(
    parts: TemplateParts, allowed: Iterable[str] | None = None
) -> list[TemplateSyntaxError]:
    """The first syntax error or unknown name of each part (subject, HTML, text), in order."""
    return _check_parts(parts, allowed, {})


def _check_parts(
    parts: TemplateParts, allowed: Iterable[str] | None, parsed: dict[str, tuple[Node, ...]]
) -> list[TemplateSyntaxError]:
    known = list(allowed) if allowed is not None else None
    errors = []
    for name, source in _sources(parts):
        try:
            nodes = parse(source, part=name)
            if known is not None:
                check_names(nodes, known, part=name)
        except TemplateSyntaxError as exc:
            errors.append(exc)
        else:
            parsed[name] = nodes
    return errors


def _sources(parts: TemplateParts) -> list[tuple[str, str]]:
    found = [(_PART_SUBJECT, parts.subject), (_PART_HTML, parts.html)]
    if not parts.generates_text:
        found.append((_PART_TEXT, parts.text))
    return found


def compile_template(
    source: TemplateParts | Template,
    *,
    allowed: Iterable[str] | None = None,
    max_bytes: int | None = None,
) -> CompiledTemplate:
    """Compile a template once, to render it for any number of recipients.

    `allowed` restricts the names the template may use (placeholder_names of the workspace);
    without it any name is accepted and missing values render empty. Raises
    TemplateSyntaxError (with part, line and name) for a template that does not parse.
    """
    parts = source if isinstance(source, TemplateParts) else parts_of(source)
    allowed = list(allowed) if allowed is not None else None
    checked = parse_parts(parts, allowed)

    def nodes(part: str, source: str, given: str) -> tuple[Node, ...]:
        # A part that reached the renderer unchanged is not parsed twice (long templates).
        return checked[part] if source == given and part in checked else parse(source, part=part)

    html = _normalise(parts.html) if parts.html.strip() else ""
    generated = parts.generates_text and bool(html)
    text = html_to_text(html) if generated else _normalise(parts.text)
    if generated and allowed is not None:
        check_names(parse(text, part=_PART_TEXT), allowed, part=_PART_TEXT)
    subject = nodes(_PART_SUBJECT, " ".join(parts.subject.split("\n")), parts.subject)
    text_nodes = parse(text, part=_PART_TEXT) if generated else nodes(_PART_TEXT, text, parts.text)
    return CompiledTemplate(
        subject=_compile_subject(subject),
        html=_compile_body(nodes(_PART_HTML, inline_css(html), parts.html)) if html else None,
        text=_compile_body(text_nodes),
        attachments=parts.attachments,
        max_bytes=max_bytes if max_bytes is not None else settings.CONTENT_MAX_RENDERED_BYTES,
    )


def parts_of(template: Template) -> TemplateParts:
    """A Template row's parts, its attachment files read once (ContentError if one is gone)."""
    return TemplateParts(
        subject=template.subject,
        html=template.html_body,
        text=template.text_body,
        attachments=read_attachments(template.attachments.all()),
        text_from_html=template.text_from_html,
    )


def read_attachments(items: Iterable[TemplateAttachment]) -> tuple[Attachment, ...]:
    """The files of attachment rows, read now; ContentError if one cannot be read."""
    attachments = []
    for item in items:
        try:
            with item.file.open("rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise ContentError(
                _("The attachment %(name)s cannot be read.") % {"name": item.filename}
            ) from exc
        attachments.append(Attachment(item.filename, item.content_type, data))
    return tuple(attachments)


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _qp(text: str) -> bytes:
    """`text` as quoted-printable with CRLF line ends, ending at a line boundary."""
    if len(text) < 74 and _QP_SAFE(text):
        return text.encode() + SOFT_BREAK  # already its own QP encoding: skip the encoder
    encoded = binascii.b2a_qp(text.encode(), istext=True).replace(b"\n", b"\r\n")
    return encoded if encoded.endswith(b"\r\n") else encoded + SOFT_BREAK


def _compile_body(nodes: Sequence[Node]) -> tuple[Op, ...]:
    ops: list[Op] = []
    for node in nodes:
        if isinstance(node, Text):
            ops.append((0, node.text, _qp(node.text), len(node.text)))
        elif isinstance(node, Var):
            fallback_qp = _qp(node.fallback) if node.fallback else b""
            ops.append((1, node.name, node.fallback, fallback_qp, len(node.fallback)))
        else:
            then, otherwise = _compile_body(node.then), _compile_body(node.otherwise)
            ops.append((2, node.name, node.negate, then, otherwise))
    return tuple(ops)


def _compile_subject(nodes: Sequence[Node]) -> tuple[Op, ...]:
    ops: list[Op] = []
    for node in nodes:
        if isinstance(node, Text):
            ops.append((0, node.text.translate(_CONTROLS)))
        elif isinstance(node, Var):
            ops.append((1, node.name, node.fallback.translate(_CONTROLS)))
        elif isinstance(node, If):
            then, otherwise = _compile_subject(node.then), _compile_subject(node.otherwise)
            ops.append((2, node.name, node.negate, then, otherwise))
    return tuple(ops)


# --- CSS and text ---------------------------------------------------------------------------

_INLINER = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)
_MARK = re.compile(r"(?:<!--|&lt;!--)?\ue000(\d+)\ue001(?:-->|--&gt;)?")


def inline_css(html: str) -> str:
    """Copy the `<style>` rules onto the elements, leaving the template's tags untouched.

    Tags are swapped for private-use markers first, so that the HTML parser cannot escape or
    move them: a comment where text would be (a comment stays in place even between table
    rows, where text would be moved out of the table), a bare marker inside an element's
    attributes. If a marker still went missing or moved, the HTML is used without inlining,
    which mail clients that read `<style>` still show correctly.
    """
    if "<style" not in html.lower() or "\ue000" in html:
        return html
    spans = tag_spans(html)
    pieces, pos = [], 0
    for number, (start, end) in enumerate(spans):
        pieces.append(html[pos:start])
        marker = f"\ue000{number}\ue001"
        pieces.append(marker if _inside_element(html, start) else f"<!--{marker}-->")
        pos = end
    pieces.append(html[pos:])
    try:
        inlined = _INLINER.inline("".join(pieces))
    except (css_inline.InlineError, ValueError):
        logger.warning("CSS could not be inlined; the template keeps its <style> only")
        return html
    order = [int(m.group(1)) for m in _MARK.finditer(inlined)]
    restored = _MARK.sub(lambda m: _restore(html, spans, m), inlined)
    if order != list(range(len(spans))) or not _same_tags(restored, len(spans)):
        logger.warning("CSS inlining moved a placeholder; the template keeps its <style> only")
        return html
    return restored


def _same_tags(html: str, count: int) -> bool:
    """Whether `html` has `count` tags: the parser may decode `&#123;` into a new `{`."""
    try:
        return len(tag_spans(html)) == count
    except ContentError:
        return False


def _restore(html: str, spans: list[tuple[int, int]], mark: re.Match[str]) -> str:
    source = html[slice(*spans[int(mark.group(1))])]
    if mark.group(0).startswith("\ue000"):
        # Inside an attribute, which the inliner re-quotes with `"`: a quote in a fallback
        # must not end the attribute.
        return source.replace('"', "&quot;")
    return source


def _inside_element(html: str, pos: int) -> bool:
    """Whether `pos` is between an element's `<name` and its `>` (a crude but safe test)."""
    # Look back a bounded stretch so that many tags cost linear time; a longer attribute is
    # taken for text, and its comment marker is still found and restored after inlining.
    start = max(0, pos - 4000)
    opened = html.rfind("<", start, pos)
    return opened > html.rfind(">", start, pos) and html[opened + 1 : opened + 2].isalpha()


def html_to_text(html: str) -> str:
    """A readable text part from HTML; the template's tags pass through unchanged."""
    converter = html2text.HTML2Text()
    converter.body_width = 0  # never wrap: a wrap could split a {tag}; QP folds long lines
    converter.ignore_images = True
    converter.ignore_tables = True  # mail layouts are tables: their cells are paragraphs
    converter.unicode_snob = True
    # A table cell is a block in a mail layout: end each with a break, so that cells become
    # paragraphs of the text rather than one run-on line.
    text = converter.handle(_CELL_END.sub("</td><br>", html))
    lines = (line.rstrip() for line in text.strip().splitlines())
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)) + "\n"


_CELL_END = re.compile(r"</td\s*>", re.IGNORECASE)
_BLANK_RUNS = re.compile(r"\n{3,}")


# --- Rendering ------------------------------------------------------------------------------


def _value(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name, "")
    if value.__class__ is not str:
        value = "" if value is None else str(value)
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value  # type: ignore[no-any-return]


class _TooLarge(Exception):
    """Raised inside the renderer the moment a message passes its size limit."""


def _render_body(
    ops: tuple[Op, ...],
    values: Mapping[str, Any],
    escape: bool,
    text: list[str],
    wire: list[bytes],
    room: int,
) -> int:
    """Append the body's pieces; return the room left under the size limit.

    The limit is checked before each piece is encoded and kept, so a template that repeats a
    long value many times stops at the limit instead of building the whole message first:
    time and memory stay bounded by the limit, whatever the template and the values.
    """
    # The per-recipient loop: locals and inlined fast paths, because this is where the time of
    # a campaign goes (see bench/bench_render.py).
    add_text, add_wire = text.append, wire.append
    for op in ops:
        kind = op[0]
        if kind == 0:
            room -= op[3]
            if room < 0:
                raise _TooLarge
            add_text(op[1])
            add_wire(op[2])
            continue
        value = _value(values, op[1])
        if kind == 2:
            filled = bool(value) and not value.isspace()
            room = _render_body(
                op[3] if filled != op[2] else op[4], values, escape, text, wire, room
            )
        elif not value or value.isspace():
            room -= op[4]
            if room < 0:
                raise _TooLarge
            add_text(op[2])
            add_wire(op[3])
        else:
            if escape and _NEEDS_ESCAPE(value):
                value = html_lib.escape(value)
            room -= len(value)
            if room < 0:
                raise _TooLarge
            add_text(value)
            if len(value) < 74 and _QP_SAFE(value):
                add_wire(value.encode() + SOFT_BREAK)  # already its own QP encoding
            else:
                add_wire(_qp(value))
    return room


def _body(
    ops: tuple[Op, ...], values: Mapping[str, Any], escape: bool, room: int
) -> tuple[str, list[bytes], int]:
    """A body as text and as quoted-printable chunks, and the room left after it."""
    text: list[str] = []
    wire: list[bytes] = []
    room = _render_body(ops, values, escape, text, wire, room)
    return "".join(text), wire, room


def _render_subject(
    ops: tuple[Op, ...], values: Mapping[str, Any], out: list[str], room: int
) -> int:
    for op in ops:
        if op[0] == 0:
            piece = op[1]
        elif op[0] == 1:
            value = _value(values, op[1])
            if not value or value.isspace():
                piece = op[2]
            else:
                piece = value if value.isprintable() else value.translate(_CONTROLS)
        else:
            value = _value(values, op[1])
            filled = bool(value) and not value.isspace()
            room = _render_subject(op[3] if filled != op[2] else op[4], values, out, room)
            continue
        room -= len(piece)
        if room < 0:
            raise _TooLarge
        out.append(piece)
    return room


@dataclass(frozen=True)
class _Skeleton:
    """The MIME structure around the bodies: fixed per compiled template."""

    head: bytes  # MIME-Version, Content-Type … up to the first body
    between: bytes  # after the text body, up to the HTML body
    tail: bytes  # after the last body, attachments included


class CompiledTemplate:
    """A template ready to render; build it with `compile_template`. Thread-safe."""

    def __init__(
        self,
        *,
        subject: tuple[Op, ...],
        html: tuple[Op, ...] | None,
        text: tuple[Op, ...],
        attachments: tuple[Attachment, ...],
        max_bytes: int,
    ) -> None:
        self.subject_ops = subject
        self.html_ops = html
        self.text_ops = text
        self.attachments = attachments
        self.max_bytes = max_bytes
        self.skeleton = _skeleton(html is not None, attachments)

    def render(
        self,
        values: Mapping[str, Any],
        *,
        from_email: str,
        to: str | Sequence[str],
        from_name: str = "",
        reply_to: str = "",
        message_id: str | None = None,
        date: datetime | None = None,
        extra_headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    ) -> RenderedMessage:
        """One personalised message. Values are the recipient's (and the links'), as text.

        Missing values render empty. Raises RenderError when the parts exceed the size limit,
        `to` is empty, or a header name in `extra_headers` is invalid or one we set ourselves.
        """
        subject_parts: list[str] = []
        try:
            room = _render_subject(self.subject_ops, values, subject_parts, self.max_bytes)
            text, text_wire, room = _body(self.text_ops, values, False, room)
            html, html_wire = "", list[bytes]()
            if self.html_ops:
                html, html_wire, room = _body(self.html_ops, values, True, room)
        except _TooLarge:
            raise RenderError(
                _("The message is larger than %(n)s bytes.") % {"n": self.max_bytes}
            ) from None
        subject = "".join(subject_parts).strip()
        recipients = (_clean(to),) if isinstance(to, str) else tuple(_clean(r) for r in to)
        if not recipients or not all(recipients):
            raise RenderError(_("A message needs a recipient address."))
        sender = _clean(from_email)
        headers = _headers(
            sender, from_name, recipients, subject, reply_to, message_id, date, extra_headers
        )
        skeleton = self.skeleton
        head = _header_block(headers)
        raw = b"".join(
            [head, skeleton.head, *text_wire, skeleton.between, *html_wire, skeleton.tail]
        )
        return RenderedMessage(
            from_email=sender,
            to=recipients,
            subject=subject,
            text=text,
            html=html if self.html_ops is not None else None,
            headers=tuple((name, value) for name, value, _ in headers),
            raw=raw,
            attachments=self.attachments,
        )


def render_message(
    template: TemplateParts | Template, values: Mapping[str, Any], **envelope: Any
) -> RenderedMessage:
    """Compile and render once: for previews and test sends (see CompiledTemplate.render)."""
    return compile_template(template).render(values, **envelope)


# --- Headers --------------------------------------------------------------------------------

Header = tuple[str, str, str]  # name, unfolded value, folded value for the wire


def _clean(value: str) -> str:
    return (value if value.isprintable() else value.translate(_CONTROLS)).strip()


def _headers(
    sender: str,
    from_name: str,
    to: tuple[str, ...],
    subject: str,
    reply_to: str,
    message_id: str | None,
    date: datetime | None,
    extra: Mapping[str, str] | Sequence[tuple[str, str]],
) -> list[Header]:
    found = [
        _address_header("From", from_name, sender),
        _plain_header("To", ", ".join(to)),
        _text_header("Subject", subject),
        _plain_header("Date", _date(date)),
        _plain_header("Message-ID", _message_id(message_id, sender)),
    ]
    if reply_to:
        found.append(_plain_header("Reply-To", _clean(reply_to)))
    pairs = extra.items() if isinstance(extra, Mapping) else extra
    for name, value in pairs:
        if not _HEADER_NAME.match(name) or name.lower() in _RESERVED:
            raise RenderError(
                _("%(name)s cannot be given as an extra header.") % {"name": repr(name)}
            )
        found.append(_text_header(name, _clean(value)))
    return found


def _header_block(headers: list[Header]) -> bytes:
    return "".join(f"{name}: {wire}\r\n" for name, _, wire in headers).encode()


def _date(date: datetime | None) -> str:
    if date is None:
        return _date_of_second(int(time.time()))
    return _format_date(date)


@lru_cache(maxsize=64)
def _date_of_second(second: int) -> str:
    return formatdate(second, usegmt=True)


@lru_cache(maxsize=64)
def _format_date(date: datetime) -> str:
    return format_datetime(date)


def _message_id(message_id: str | None, sender: str) -> str:
    if message_id:
        value = _clean(message_id)
        return value if value.startswith("<") else f"<{value}>"
    domain = sender.rpartition("@")[2] or "postroom.invalid"
    return f"<{uuid.uuid4().hex}@{domain}>"


def _plain_header(name: str, value: str) -> Header:
    return (name, value, _fold(name, value) if len(name) + len(value) > 76 else value)


@lru_cache(maxsize=256)
def _address_header(name: str, display: str, address: str) -> Header:
    display = _clean(display)
    if not display:
        return _plain_header(name, address)
    if display.isascii():
        quoted = display.replace("\\", "\\\\").replace('"', '\\"')
        return _plain_header(name, f'"{quoted}" <{address}>')
    words = _encoded_words(display, name)
    return (name, f"{' '.join(words)} <{address}>", "\r\n ".join([*words, f"<{address}>"]))


def _text_header(name: str, value: str) -> Header:
    """An unstructured header (Subject, extra headers): RFC 2047 words when not plain ASCII."""
    # "=?" would let a value pose as an encoded word; long words cannot be folded
    if value.isascii() and "=?" not in value and max(map(len, value.split(" "))) < 900:
        return _plain_header(name, value)
    words = _encoded_words(value, name)
    return (name, " ".join(words), "\r\n ".join(words))


def _fold(name: str, value: str) -> str:
    """Fold an ASCII value at spaces so that lines stay near 78 octets (RFC 5322 2.2.3)."""
    lines: list[str] = []
    current = ""
    width = 78 - len(name) - 2
    for word in value.split(" "):
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current, width = word, 77
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return "\r\n ".join(lines)


def _encoded_words(value: str, name: str) -> list[str]:
    """RFC 2047 base64 words, each on a line of at most 76 octets, never splitting a character.

    Words break after a space where they can (the space stays inside the word before), because
    some readers, Python's among them, show a space wherever a name was split. The first word
    shares its line with `name: `, so it carries fewer octets.
    """
    words: list[str] = []
    room = max(3, (76 - len(name) - 2 - 12) // 4 * 3)  # 12: "=?utf-8?b?" and "?="
    chunk = b""
    for token in _AFTER_SPACE.split(value):
        data = token.encode()
        if chunk and len(chunk) + len(data) > room:
            words.append(_word(chunk))
            chunk, room = b"", 45  # later lines: a space, then 60 base64 characters + 12
        for char in token if len(chunk) + len(data) > room else (token,):
            piece = char.encode()
            if chunk and len(chunk) + len(piece) > room:
                words.append(_word(chunk))
                chunk, room = b"", 45
            chunk += piece
    if chunk or not words:
        words.append(_word(chunk))
    return words


_AFTER_SPACE = re.compile(r"(?<= )")


def _word(data: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(data).decode()}?="


# --- MIME structure -------------------------------------------------------------------------


def _skeleton(has_html: bool, attachments: tuple[Attachment, ...]) -> _Skeleton:
    """The fixed bytes around the bodies.

    Boundaries start with `=_`, which neither quoted-printable (it writes `=` as `=3D`) nor
    base64 can produce at the start of a line, so one random boundary per template is safe.
    """
    token = secrets.token_hex(12)
    text_head = _part_head("text/plain")
    if not has_html:
        alternative_head, between, alternative_tail = text_head, b"", b""
    else:
        alt = f"=_a{token}"
        alternative_head = (
            f'Content-Type: multipart/alternative; boundary="{alt}"\r\n\r\n--{alt}\r\n'.encode()
            + text_head
        )
        between = f"\r\n--{alt}\r\n".encode() + _part_head("text/html")
        alternative_tail = f"\r\n--{alt}--\r\n".encode()
    if not attachments:
        return _Skeleton(b"MIME-Version: 1.0\r\n" + alternative_head, between, alternative_tail)
    mixed = f"=_m{token}"
    head = (
        f'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="{mixed}"\r\n\r\n'
        f"--{mixed}\r\n"
    ).encode() + alternative_head
    files = b"".join(f"--{mixed}\r\n".encode() + _attachment_part(a) for a in attachments)
    closing = alternative_tail or b"\r\n"  # a boundary follows a line break
    return _Skeleton(head, between, closing + files + f"--{mixed}--\r\n".encode())


def _part_head(content_type: str) -> bytes:
    return (
        f'Content-Type: {content_type}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode()


def _attachment_part(attachment: Attachment) -> bytes:
    name = _clean(attachment.filename).replace('"', "'").replace("\\", "_") or "attachment"
    if name.isascii():
        disposition = f'attachment; filename="{name}"'
    else:
        disposition = f"attachment; filename*=utf-8''{quote(name, safe='')}"
    content_type = _clean(attachment.content_type) or "application/octet-stream"
    head = (
        f"Content-Type: {content_type}\r\nContent-Disposition: {disposition}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    )
    body = base64.encodebytes(attachment.data).replace(b"\n", b"\r\n")
    return head.encode() + body


# --- Sample data ----------------------------------------------------------------------------

SAMPLE_VALUES = {
    "email": "alex.sample@example.com",
    "first_name": "Alex",
    "last_name": "Sample",
    "company": "Sample & Co",
    "country": "Portugal",
    "city": "Lisbon",
    "comment": "",
    "unsubscribe_url": "https://example.com/unsubscribe/sample",
    "view_in_browser_url": "https://example.com/view/sample",
    "preferences_url": "https://example.com/preferences/sample",
}


def sample_values(names: Iterable[str]) -> dict[str, str]:
    """Plausible values for a preview without a recipient: known fields, else the field name."""
    return {name: SAMPLE_VALUES.get(name, f"[{name}]") for name in names}
