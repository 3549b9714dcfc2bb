"""Rows of a bulk upsert (JSON objects from the API) checked by the importer's own rules.

Each object is laid out as a CSV row under a fixed mapping and parsed by `importer.Plan`, so an
address, a name or a custom value is accepted or refused exactly as a CSV import would: one
set of rules for every way recipients arrive. A row that breaks them is a Rejection with its
index; the others go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from audience.fields import JsonValue
from audience.importer import IMPORT_FIELDS, ParsedRow, Plan

ROW_KEYS = frozenset((*IMPORT_FIELDS, "fields"))


@dataclass
class UpsertRow:
    """A valid row: its index in the call, and which standard columns it carried."""

    index: int
    email: str
    values: dict[str, str]
    custom: dict[str, JsonValue]


@dataclass
class UpsertRejection:
    index: int
    email: str
    errors: list[str]


@dataclass
class UpsertOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[UpsertRejection] = field(default_factory=list)


def as_text(value: Any) -> str | None:
    """A JSON scalar as the text a CSV cell would hold; None for anything else.

    Text with a NUL character is refused too: PostgreSQL cannot store it.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | str):
        text = str(value)
        return None if "\x00" in text else text
    return None


class RowParser:
    """Parses API rows for one workspace's custom fields (key -> (type, choices))."""

    def __init__(self, custom_types: dict[str, tuple[str, list[str]]]) -> None:
        self.keys = list(custom_types)
        self.plan = Plan(
            mapping=[*IMPORT_FIELDS, *(f"field:{key}" for key in self.keys)],
            custom_types=custom_types,
        )

    def parse(self, index: int, raw: Any) -> UpsertRow | UpsertRejection:
        if not isinstance(raw, dict):
            return UpsertRejection(index, "", ["Each recipient must be an object."])
        email = raw.get("email")
        shown = email[:200] if isinstance(email, str) else ""
        errors = self._shape_errors(raw)
        if errors:
            return UpsertRejection(index, shown, errors)
        custom: dict[str, Any] = raw.get("fields") or {}
        cells = [as_text(raw.get(name)) for name in IMPORT_FIELDS]
        cells += [as_text(custom.get(key)) for key in self.keys]
        parsed = self.plan.parse(index, [c or "" for c in cells])
        if not isinstance(parsed, ParsedRow):
            return UpsertRejection(index, parsed.email or shown, [parsed.reason])
        given = {k: v for k, v in parsed.values.items() if k in raw}
        return UpsertRow(index, parsed.email, given, parsed.custom)

    def _shape_errors(self, raw: dict[str, Any]) -> list[str]:
        errors = []
        unknown = sorted(str(k) for k in raw if k not in ROW_KEYS)
        if unknown:
            errors.append(f"Unknown field(s): {', '.join(unknown)}.")
        not_text = [k for k in IMPORT_FIELDS if k in raw and as_text(raw[k]) is None]
        if not_text:
            errors.append(f"Not text, or holding a NUL character: {', '.join(not_text)}.")
        custom = raw.get("fields")
        if custom is not None and not isinstance(custom, dict):
            errors.append("fields must be an object of custom field values.")
        elif custom:
            strange = sorted(str(k) for k in custom if k not in self.keys)
            if strange:
                errors.append(f"Unknown custom field(s): {', '.join(strange)}.")
            bad = sorted(str(k) for k, v in custom.items() if as_text(v) is None)
            if bad:
                errors.append(f"Custom values must be text, numbers or booleans: {', '.join(bad)}.")
        return errors


def parse_rows(
    rows: Sequence[Any], custom_types: dict[str, tuple[str, list[str]]]
) -> tuple[list[UpsertRow], list[UpsertRejection]]:
    """Valid rows (the first of each address) and rejections, both in the call's order."""
    parser = RowParser(custom_types)
    good: list[UpsertRow] = []
    rejected: list[UpsertRejection] = []
    first_at: dict[str, int] = {}
    for index, raw in enumerate(rows):
        row = parser.parse(index, raw)
        if isinstance(row, UpsertRejection):
            rejected.append(row)
        elif row.email in first_at:
            message = f"The same address is at index {first_at[row.email]} already."
            rejected.append(UpsertRejection(index, row.email, [message]))
        else:
            first_at[row.email] = index
            good.append(row)
    return good, rejected
