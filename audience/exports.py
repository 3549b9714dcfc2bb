"""Streamed CSV for recipients and reports, safe to open in a spreadsheet.

A cell that starts with = + - @ (or a tab or carriage return) is what spreadsheet programs run
as a formula (CSV injection), so such cells get a leading apostrophe, as OWASP advises; the
importer takes it off again (see core.spreadsheet), so an export imports back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from audience.models import STANDARD_FIELDS, AudienceJob, Recipient
from audience.selectors import recipient_values
from core.spreadsheet import csv_lines as csv_lines

CHUNK = 2000


def recipient_rows(qs: QuerySet[Recipient], field_keys: list[str]) -> Iterator[list[Any]]:
    """Header, then one row per recipient, read in chunks (memory stays flat)."""
    yield [*STANDARD_FIELDS, "status", *field_keys, "created_at"]
    for recipient in qs.order_by("pk").iterator(chunk_size=CHUNK):
        values = recipient_values(recipient, field_keys)
        yield [
            *(values[name] for name in STANDARD_FIELDS),
            recipient.status,
            *(values[key] for key in field_keys),
            recipient.created_at.isoformat(),
        ]


def rejection_rows(job: AudienceJob) -> Iterator[list[Any]]:
    yield ["line", "email", "reason"]
    for line, email, reason in (
        job.rejections.filter(duplicate=False)
        .order_by("line", "pk")
        .values_list("line", "email", "reason")
        .iterator(CHUNK)
    ):
        yield [line, email, reason]
