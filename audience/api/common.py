"""Pieces the audience's API views share: query parsing, roles per action, CSV responses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import exceptions, serializers
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer

from api.errors import TooLarge

# The most ids, addresses or rows one call may carry (as the bulk upsert).
MAX_ITEMS = 10_000
MAX_ID = 2**63 - 1  # larger numbers overflow the database's integer


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """An object id: a positive number the database can hold."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class LargeJsonParser(BaseParser):
    """JSON bodies of up to `max_bytes`, for calls that carry thousands of rows.

    DRF's JSONParser reads through `request.body`, which Django caps at
    DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): less than 10,000 recipients with a note each. This
    reads the stream itself, under its own limit.
    """

    media_type = "application/json"
    max_bytes = 64 * 1024 * 1024

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        too_large = TooLarge(f"The body may hold at most {self.max_bytes // 2**20} MB.")
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise too_large
        raw = stream.read(self.max_bytes + 1)
        if len(raw) > self.max_bytes:
            raise too_large
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc


class CsvRenderer(BaseRenderer):
    """Lets a client that asks for text/csv reach the CSV downloads (streamed by the view)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> Any:
        # Only error bodies come here (the downloads are streamed responses): keep them JSON.
        return json.dumps(data, default=str).encode()


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
    if not raw.isdigit() or int(raw) > MAX_ID:
        errors[name] = [f"{name} must be an id (a whole number)."]
        return None
    return int(raw)


def query_moment(params: Any, name: str, errors: dict[str, list[str]]) -> datetime | None:
    """An ISO date or date-time; a date means its midnight, a naive time the server's zone."""
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        moment = parse_datetime(raw)
        if moment is None:
            day = parse_date(raw)
            moment = datetime.combine(day, time.min) if day else None
    except ValueError:
        moment = None
    if moment is not None:
        try:
            moment = timezone.make_aware(moment) if timezone.is_naive(moment) else moment
            # In UTC: PostgreSQL refuses offsets past ±15:59, which ISO 8601 allows.
            moment = moment.astimezone(UTC)
        except (OverflowError, ValueError):  # at the edge of the calendar
            moment = None
    if moment is None:
        errors[name] = ["Give an ISO 8601 date or date-time, e.g. 2026-05-01T12:00:00Z."]
    return moment


def query_bool(params: Any, name: str, default: bool) -> bool:
    raw = str(params.get(name, "")).strip().lower()
    if not raw:
        return default
    return raw in ("1", "true", "yes", "on")
