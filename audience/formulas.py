"""Formula neutralising for CSV files we write, undone for CSV files we read.

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

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """The cell to write for `text`: one apostrophe more when a spreadsheet would run it."""
    return f"'{text}" if text.lstrip("'").startswith(DANGEROUS_START) else text


def restore(cell: str) -> str:
    """The value a neutralised cell stands for; any other cell unchanged."""
    if cell[:1] == "'" and cell.lstrip("'").startswith(DANGEROUS_START):
        return cell[1:]
    return cell
