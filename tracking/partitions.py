"""The event table, partitioned by month of `occurred_at` on PostgreSQL (see core.partitions:
partitions made ahead by the hourly housekeeping, a default one for the rest), and forgetting
events older than EVENT_RETENTION_MONTHS.

Unlike attempts, events are kept nowhere else: a campaign's report counts its opens, clicks,
bounces, complaints, unsubscribes and replies from them (its sent figure comes from the
deliveries), so the report of a campaign older than the retention loses those figures, as do
its A/B report and what sequences ask of past opens and clicks.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper

from core.partitions import Forgotten, Monthly, forget_past_retention, partitioned
from tracking.models import Event

__all__ = ["EVENTS", "convert_to_partitioned", "forget_old_events", "partitioned"]

EVENTS = Monthly("tracking_event", "occurred_at")


def convert_to_partitioned(connection: BaseDatabaseWrapper, today: dt.date) -> None:
    """Migration 0003's step."""
    EVENTS.convert(connection, today)


def forget_old_events(*, today: dt.date, months: int | None = None) -> Forgotten:
    """Forget the events older than this month and the `months` before it (default
    EVENT_RETENTION_MONTHS; 0 keeps every event)."""
    months = settings.EVENT_RETENTION_MONTHS if months is None else months
    return forget_past_retention(EVENTS, Event, today=today, months=months)
