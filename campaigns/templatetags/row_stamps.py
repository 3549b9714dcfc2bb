"""`{{ value|stamp }}`: a time as `{{ value|date:"Y-m-d H:i:s" }}` writes it, in the current
time zone, for the per-row times of the campaign, emails and log pages. Django's `date`
filter parses its format and builds a formatter per call, about 36 µs a row; strftime takes
a tenth of that."""

from __future__ import annotations

from datetime import datetime

from django import template

register = template.Library()


@register.filter(expects_localtime=True)
def stamp(value: datetime | None) -> str:
    """The time as text, or "" for none (so that `|default:` applies), as `date` gives."""
    if not isinstance(value, datetime):
        return ""
    return f"{value:%Y-%m-%d %H:%M:%S}"
