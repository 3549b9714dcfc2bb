"""Logging filters named in settings.LOGGING."""

from __future__ import annotations

import logging


class QuietForbidden(logging.Filter):
    """A 403 is an answer, not a fault: log it as one INFO line, without a traceback.

    Django logs every PermissionDenied on `django.request` as a WARNING with the exception's
    traceback, so a viewer opening a button's URL filled the log with stack traces.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
            record.exc_info, record.exc_text = None, None
        return True
