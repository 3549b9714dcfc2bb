"""An erased person's address cut out of the text the records keep (right to erasure).

Servers' replies, bounce messages and webhook bodies repeat the address inside longer text
("550 5.1.1 <Ann@Example.com>: unknown user"); the text stays, so that a person can still
read what happened, with the address, in any case, replaced by ERASED.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from django.db import models
from django.db.models import Q, QuerySet
from django.db.models.functions import Cast

ERASED = "[erased]"


def length_of(model: type[models.Model], column: str) -> int | None:
    """How many characters `column` holds (None: any), to cut a scrubbed value to."""
    field = model._meta.get_field(column)
    return field.max_length if isinstance(field, models.Field) else None


class Scrubber:
    """Finds one address in text and JSON, case aside, and replaces it with ERASED."""

    def __init__(self, email: str) -> None:
        self.address = email.strip().lower()
        # Percent-encoded too, as in a link or a query string the records keep (a clicked
        # URL, an export's filter): "ann%40example.test".
        self.encoded = quote(self.address, safe="")
        # The whole address, not a part of a longer one (joann@… or ann@example.test.org):
        # a webhook request or a reply names other people too.
        after = r"(?![\w-]|\.[\w-])"
        whole = rf"(?<![\w.!#$%&'*+/=?^`{{|}}~-]){re.escape(self.address)}{after}"
        encoded = rf"(?<![\w.~-]){re.escape(self.encoded)}{after}"
        self._pattern = re.compile(f"{whole}|{encoded}", re.IGNORECASE)

    @property
    def spellings(self) -> list[str]:
        """The address as text may hold it: as it is and percent-encoded."""
        return list(dict.fromkeys((self.address, self.encoded))) if self.address else []

    def text(self, value: str, limit: int | None = None) -> str:
        """`value` without the address; cut to `limit` characters (a column's length), as
        ERASED is longer than the shortest addresses."""
        return (self._pattern.sub(ERASED, value) if self.address else value)[:limit]

    def json(self, value: Any) -> Any:
        """A copy of a decoded JSON value with the address out of every string, keys too."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {self.text(key): self.json(item) for key, item in value.items()}
        return value

    @property
    def plain_in_json(self) -> bool:
        """Whether the address is written as it is in stored JSON: JSON escapes quotes,
        backslashes and (in SQLite's text) every character beyond ASCII."""
        return self.address.isascii() and not {'"', "\\"} & set(self.address)


def naming(
    rows: QuerySet[Any], scrub: Scrubber, *, text: Sequence[str] = (), json: Sequence[str] = ()
) -> QuerySet[Any]:
    """The rows whose `text` or `json` columns name the scrubber's address, any case, plain or
    percent-encoded. Read by their text (erasure and the privacy export are rare); every row
    when the address is not written as it is in stored JSON (Scrubber.plain_in_json)."""
    named = Q()
    for column in text:
        for spelling in scrub.spellings:
            named |= Q(**{f"{column}__icontains": spelling})
    if json and not scrub.plain_in_json:
        return rows
    for column in json:
        rows = rows.annotate(**{f"{column}_as_text": Cast(column, models.TextField())})
        for spelling in scrub.spellings:
            named |= Q(**{f"{column}_as_text__icontains": spelling})
    return rows.filter(named)


def scrub_rows(
    rows: QuerySet[Any], scrub: Scrubber, *, text: Sequence[str] = (), json: Sequence[str] = ()
) -> int:
    """Cut the address out of the `text` and `json` columns of those of `rows` that name it;
    how many rows changed. Each changed row is updated within `rows` (its workspace)."""
    if not scrub.address:
        return 0
    limits = [length_of(rows.model, column) for column in text]
    columns = (*text, *json)
    changed = 0
    found = naming(rows, scrub, text=text, json=json).values_list("pk", *columns)
    for pk, *before in found.iterator():
        after = [scrub.text(v, n) for v, n in zip(before[: len(text)], limits, strict=True)]
        after += [scrub.json(v) for v in before[len(text) :]]
        if after != before:
            rows.filter(pk=pk).update(**dict(zip(columns, after, strict=True)))
            changed += 1
    return changed
