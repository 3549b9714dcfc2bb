"""Housekeeping of sending: captured messages do not pile up for ever.

The capture transport keeps every message it "sends" so the UI can show it; on an install that
sends real campaigns through it (demos, staging) that is a table growing without end. Messages
older than CAPTURED_RETENTION_DAYS are deleted in small chunks, so the worker's step stays
short and never holds a long lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from sending.models import CapturedMessage

CHUNK = 2_000


def purge_captured(*, now: datetime, days: int | None = None, chunk: int = CHUNK) -> int:
    """Delete captured messages older than the retention; returns how many went."""
    days = settings.CAPTURED_RETENTION_DAYS if days is None else days
    if days <= 0:  # 0 keeps them for ever
        return 0
    cutoff = now - timedelta(days=days)
    removed = 0
    while True:
        ids = list(
            CapturedMessage.objects.filter(created_at__lt=cutoff)
            .order_by("id")
            .values_list("id", flat=True)[:chunk]
        )
        if not ids:
            return removed
        removed += CapturedMessage.objects.filter(pk__in=ids).delete()[0]
