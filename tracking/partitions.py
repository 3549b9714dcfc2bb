"""The event table, partitioned by month of `occurred_at` on PostgreSQL (see core.partitions:
partitions made ahead by the hourly housekeeping, a default one for the rest)."""

from __future__ import annotations

import datetime as dt

from django.db.backends.base.base import BaseDatabaseWrapper

from core.partitions import Monthly, partitioned

__all__ = ["EVENTS", "convert_to_partitioned", "partitioned"]

EVENTS = Monthly("tracking_event", "occurred_at")


def convert_to_partitioned(connection: BaseDatabaseWrapper, today: dt.date) -> None:
    """Migration 0003's step."""
    EVENTS.convert(connection, today)
