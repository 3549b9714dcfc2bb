"""What an uploaded file really is: its type from its name, confirmed by its first bytes.

The browser's Content-Type is never used: it is whatever the client says. The name gives the
type the recipients' mail programs will see; the content must agree with it (a PDF starts with
`%PDF-`, an Office file is a ZIP…), so that an executable renamed to `.pdf` is refused.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable

_ZIP = (b"PK\x03\x04",)


def _starts(*magic: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(magic)


def _text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sample may end inside a character; anything else is not UTF-8 text.
        return exc.start >= len(head) - 3
    return True


def _calendar(head: bytes) -> bool:
    return _text(head) and head.lstrip(b"\xef\xbb\xbf \r\n").upper().startswith(b"BEGIN:VCALENDAR")


_CHECKS: dict[str, Callable[[bytes], bool]] = {
    "application/pdf": _starts(b"%PDF-"),
    "image/png": _starts(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": _starts(b"\xff\xd8\xff"),
    "image/gif": _starts(b"GIF87a", b"GIF89a"),
    "image/webp": lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
    "text/plain": _text,
    "text/csv": _text,
    "text/calendar": _calendar,
    "application/zip": _starts(*_ZIP),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _starts(*_ZIP),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _starts(*_ZIP),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": _starts(*_ZIP),
}


def sniff_type(filename: str, head: bytes, allowed: list[str]) -> str | None:
    """The content type of a file named `filename` starting with `head`, if it is allowed.

    None when the name's type is not in `allowed`, is unknown to us, or the bytes do not look
    like that type.
    """
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    if guessed is None or guessed not in allowed:
        return None
    check = _CHECKS.get(guessed)
    if check is None or not check(head):
        return None
    return guessed
