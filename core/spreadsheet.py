"""CSV files for spreadsheets: formula neutralising for what we write, undone for what we
read, and a byte order mark so that Excel reads UTF-8.

A cell that starts with = + - @ (or a tab or carriage return) is what spreadsheet programs run
as a formula (CSV injection), so exports put an apostrophe before it, as OWASP advises. The
apostrophe must not come back as part of the value when such a file is imported again, and
every value must survive the trip, so the rule is a bijection:

- export: a value that starts with a dangerous character *after any leading apostrophes*
  gets one more apostrophe ('=x -> ''=x, =x -> '=x);
- import: a cell of that same shape loses one ('=x -> =x, ''=x -> '=x).

A value like 'hello (an apostrophe, then something harmless) is written and read unchanged.
Neutralising every cell the way spreadsheets would evaluate it (numbers like -5 are harmless)
would not be lossless: a phone number such as +49 30 1234 is still a formula to a spreadsheet
and needs its apostrophe, so the importer has to recognise the apostrophe either way.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

# Spreadsheet programs (Excel above all) read a CSV file as UTF-8 only when it starts with
# a byte order mark; without one, Cyrillic and accented names open as mojibake. Postroom's
# own importer, Python's "utf-8-sig" and every spreadsheet accept it.
BOM = "\ufeff"
CONTENT_TYPE = "text/csv; charset=utf-8"
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """The cell to write for `text`: one apostrophe more when a spreadsheet would run it."""
    return f"'{text}" if text.lstrip("'").startswith(DANGEROUS_START) else text


def restore(cell: str) -> str:
    """The value a neutralised cell stands for; any other cell unchanged."""
    if cell[:1] == "'" and cell.lstrip("'").startswith(DANGEROUS_START):
        return cell[1:]
    return cell


def safe_cell(value: Any) -> str:
    return neutralise("" if value is None else str(value))


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """A byte order mark, then each row as one CSV line, every cell neutralised."""
    yield BOM
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])
