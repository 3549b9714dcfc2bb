"""Streamed CSV for recipients and reports, safe to open in a spreadsheet.

A cell that starts with = + - @ (or a tab or carriage return) is what spreadsheet programs run
as a formula (CSV injection), so such cells get a leading apostrophe, as OWASP advises; the
importer takes it off again (see audience.formulas), so an export imports back unchanged.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet

from audience.formulas import neutralise
from audience.models import STANDARD_FIELDS, AudienceJob, Recipient
from audience.selectors import recipient_values

CHUNK = 2000


def safe_cell(value: Any) -> str:
    return neutralise("" if value is None else str(value))


class _Echo:
    def write(self, value: str) -> str:
        return value


# Spreadsheet programs (Excel above all) read a CSV file as UTF-8 only when it starts with
# a byte order mark; without one, Cyrillic and accented names open as mojibake. Postroom's
# own importer, Python's "utf-8-sig" and every spreadsheet accept it.
BOM = "\ufeff"


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """A byte order mark, then each row as one CSV line, every cell neutralised."""
    yield BOM
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


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
