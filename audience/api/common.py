"""Pieces the audience's API views share: query parsing, roles per action, CSV responses."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.parsers import BaseParser

from core.api.errors import TooLarge
from core.api.params import MAX_ID, parse_moment
from core.digits import is_number

# The most ids, addresses or rows one call may carry (as the bulk upsert).
MAX_ITEMS = 10_000


class LargeJsonParser(BaseParser):
    """JSON bodies of up to AUDIENCE_API_BODY_MAX_BYTES, for calls that carry thousands of rows.

    DRF's JSONParser reads through `request.body`, which Django caps at
    DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): less than 10,000 recipients with a note each. This
    reads the stream itself, under its own limit.
    """

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        max_bytes: int = settings.AUDIENCE_API_BODY_MAX_BYTES
        too_large = TooLarge(f"The body may hold at most {max_bytes / 2**20:g} MB.")
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and is_number(declared) and int(declared) > max_bytes:
            raise too_large
        raw = stream.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise too_large
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise exceptions.ParseError(
                _("JSON parse error - %(reason)s") % {"reason": exc}
            ) from exc


def query_text(params: Any, name: str, errors: dict[str, list[str]]) -> str:
    """A text parameter, stripped; PostgreSQL cannot compare text holding a NUL character."""
    raw = str(params.get(name, "")).strip()
    if "\x00" in raw:
        errors[name] = ["Null characters are not allowed."]
        return ""
    return raw


def query_int(params: Any, name: str, errors: dict[str, list[str]]) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not is_number(raw) or int(raw) > MAX_ID:
        errors[name] = [f"{name} must be an id (a whole number)."]
        return None
    return int(raw)


def query_moment(params: Any, name: str, errors: dict[str, list[str]]) -> datetime | None:
    """An ISO date or date-time; a date means its midnight, a naive time the server's zone."""
    raw = params.get(name, "").strip()
    if not raw:
        return None
    moment = parse_moment(raw, timezone.get_current_timezone())
    if moment is None:
        errors[name] = ["Give an ISO 8601 date or date-time, e.g. 2026-05-01T12:00:00Z."]
    return moment


def query_bool(params: Any, name: str, default: bool) -> bool:
    raw = str(params.get(name, "")).strip().lower()
    if not raw:
        return default
    return raw in ("1", "true", "yes", "on")
