"""What the renderer hands to the rest of Postroom: one personalised message.

`sending` turns it into what a transport needs (raw bytes for SMTP and the capture transport,
parts for e-mail service APIs through anymail); `campaigns` produces one per delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class RenderedMessage:
    """A personalised message, ready to go.

    `headers` holds the header fields in wire order, From, To, Subject, Date and Message-ID
    included, already encoded (RFC 2047 where needed) and free of CR/LF. `raw` is the whole
    RFC 5322 message with CRLF line ends: what an SMTP server receives after DATA.
    """

    from_email: str  # the From header's address (envelope sender unless a bounce address is set)
    to: tuple[str, ...]  # envelope recipients
    subject: str
    text: str
    html: str | None
    headers: tuple[tuple[str, str], ...]
    raw: bytes
    attachments: tuple[Attachment, ...] = field(default=())

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)
