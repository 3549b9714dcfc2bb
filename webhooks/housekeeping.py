"""Housekeeping of webhooks: the outbox keeps finished requests for a while, not for ever."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from webhooks.models import Event, EventState

CHUNK = 2_000


def purge_finished_events(*, now: datetime, chunk: int = CHUNK) -> int:
    """Delete delivered and failed requests older than WEBHOOK_EVENT_RETENTION_DAYS."""
    days = settings.WEBHOOK_EVENT_RETENTION_DAYS
    if days <= 0:
        return 0
    old = Event.objects.filter(
        state__in=(EventState.DELIVERED, EventState.FAILED),
        created_at__lt=now - timedelta(days=days),
    )
    removed = 0
    while ids := list(old.order_by("id").values_list("id", flat=True)[:chunk]):
        removed += Event.objects.filter(pk__in=ids).delete()[0]
    return removed
