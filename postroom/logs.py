"""Structured logs: the JSON formatter's setup, the address filter and the state-change lines.

LOG_FORMAT=json writes one JSON object per line (python-json-logger) with the fields given in
`extra=` (event, ids, figures) for log shippers; the plain format keeps them out of the line.
Lines never carry secrets or message bodies, and e-mail addresses only with LOG_ADDRESSES=True.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings

log = logging.getLogger("postroom.campaigns")

# Good enough to find an address in free text (an SMTP reply, an exception's message).
ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
REDACTED = "<address>"


def redact(text: str) -> str:
    return ADDRESS.sub(REDACTED, text)


class RedactAddresses(logging.Filter):
    """Replaces e-mail addresses in every line (message and extra fields) with <address>,
    unless LOG_ADDRESSES is on: a log shipper's storage is not where recipients should be."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(settings, "LOG_ADDRESSES", False):
            return True
        message = record.getMessage()
        if "@" in message:
            record.msg, record.args = redact(message), None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str) and "@" in value:
                setattr(record, key, redact(value))
        return True


_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}
