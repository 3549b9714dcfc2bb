"""Custom field values: text from a form or a CSV cell turned into the JSON stored in `fields`.

Values are stored typed (numbers as JSON numbers, yes/no as booleans, dates as ISO strings) so
that segments compare them in SQL. Conversion is strict: a value that does not fit the field's
type is an error with a reason, never silently dropped.
"""

from __future__ import annotations

from datetime import date, datetime

from audience.models import VALUE_MAX_CHARS, CustomFieldType

TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on", "да", "oui", "ja", "si", "sí"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", "нет", "non", "nein"})
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d")

JsonValue = str | int | float | bool


class FieldValueError(ValueError):
    """The value does not fit the field's type; the message names the field and the value."""


def coerce_value(key: str, kind: str, choices: list[str], raw: str) -> JsonValue | None:
    """Convert `raw` for a field of type `kind`; None for an empty cell (no value).

    Raises FieldValueError with a message for people, e.g. "age: 'abc' is not a number".
    """
    text = raw.strip()
    if not text:
        return None
    if len(text) > VALUE_MAX_CHARS:
        raise FieldValueError(f"{key}: longer than {VALUE_MAX_CHARS:,} characters")
    if kind == CustomFieldType.NUMBER:
        return _number(key, text)
    if kind == CustomFieldType.BOOLEAN:
        lowered = text.lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        raise FieldValueError(f"{key}: {text!r} is not yes or no")
    if kind == CustomFieldType.DATE:
        return _date(key, text)
    if kind == CustomFieldType.CHOICE and choices:
        for choice in choices:
            if choice.lower() == text.lower():
                return choice
        raise FieldValueError(f"{key}: {text!r} is not one of {', '.join(choices)}")
    return text


def _number(key: str, text: str) -> int | float:
    try:
        number = float(text.replace(",", ".").replace(" ", ""))
    except ValueError:
        raise FieldValueError(f"{key}: {text!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise FieldValueError(f"{key}: {text!r} is not a number")
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _date(key: str, text: str) -> str:
    for fmt in DATE_FORMATS:
        try:
            parsed: date = datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            continue
        return parsed.isoformat()
    raise FieldValueError(f"{key}: {text!r} is not a date (use YYYY-MM-DD)")
