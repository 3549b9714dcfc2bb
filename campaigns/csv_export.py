"""Streamed CSV of a campaign's deliveries and of the workspace's attempts.

Rows are read in chunks with `values_list` (no model instances), so exporting millions keeps
memory flat; every cell goes through the audience export's neutraliser (CSV injection).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from audience.exports import csv_lines
from campaigns.models import Attempt, Delivery

CHUNK = 2000

DELIVERY_COLUMNS = (
    ("email", "email"),
    ("status", "status"),
    ("attempts", "attempts"),
    ("account", "account__name"),
    ("smtp_code", "last_code"),
    ("enhanced_code", "last_enhanced_code"),
    ("last_reply", "last_reply"),
    ("sent_at", "sent_at"),
    ("message_id", "message_id"),
)
ATTEMPT_COLUMNS = (
    ("time", "created_at"),
    ("campaign", "campaign__name"),
    ("email", "email"),
    ("account", "account__name"),
    ("outcome", "outcome"),
    ("smtp_code", "smtp_code"),
    ("enhanced_code", "enhanced_code"),
    ("reply", "reply"),
    ("message_id", "message_id"),
)


def _rows(
    qs: QuerySet[Any], columns: tuple[tuple[str, str], ...], order: tuple[str, ...]
) -> Iterator[list[Any]]:
    yield [header for header, _ in columns]
    values = qs.order_by(*order).values_list(*(path for _, path in columns))
    for row in values.iterator(chunk_size=CHUNK):
        yield [v.isoformat() if isinstance(v, datetime) else v for v in row]


def delivery_rows(qs: QuerySet[Delivery]) -> Iterator[list[Any]]:
    return _rows(qs, DELIVERY_COLUMNS, ("pk",))


def attempt_rows(qs: QuerySet[Attempt]) -> Iterator[list[Any]]:
    return _rows(qs, ATTEMPT_COLUMNS, ("-created_at", "-pk"))


def streamed(rows: Iterator[list[Any]], name: str) -> HttpResponse:
    """A download of `rows` named `<name>-<time>.csv`."""
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    # The access guard is typed for HttpResponse; a streaming response is served the same way.
    return cast(HttpResponse, response)
