"""Parameters every resource reads the same way: times in query strings, ids in bodies."""

from __future__ import annotations

from datetime import UTC, datetime, time, tzinfo
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers


def parse_moment(raw: str, zone: tzinfo) -> datetime | None:
    """An ISO 8601 date-time or date from a query string, in UTC; None when it is not one.

    A date means its midnight in `zone`, and a time without an offset is taken in `zone`. A
    '+' of an offset that the client did not escape arrives as a space: it is read back.
    The result is in UTC because ISO 8601 allows offsets PostgreSQL refuses (past ±15:59).
    """
    raw = raw.strip()
    try:
        moment = parse_datetime(raw.replace(" ", "+") if "T" in raw else raw)
        if moment is None:
            day = parse_date(raw)
            moment = datetime.combine(day, time.min) if day else None
        if moment is None:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):  # not a date, or at the edge of the calendar
        return None


# The largest id a 64-bit key holds: a larger number would overflow the database driver.
MAX_ID = 2**63 - 1


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """An object id in a request body: a positive number the database can hold."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)
