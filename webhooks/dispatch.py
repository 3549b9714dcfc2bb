"""The worker's webhook step: turn new attempts into events, then send what is due.

Both drivers call `run_webhook_step`: the embedded worker in its loop (postroom/worker.py) and
Celery from `webhooks.tasks.webhook_pass`. A workspace without an active endpoint costs one
indexed query; the step stops sending after WEBHOOK_STEP_SECONDS so it never holds up the
delivery engine for long.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from webhooks.collect import collect
from webhooks.models import Event, EventState
from webhooks.services import event_attempt


def send_due(*, now: datetime, limit: int) -> bool:
    """Send up to `limit` due requests; True if more were due than were tried.

    After a failure the endpoint's other requests wait (the services hold them back), so
    the rest of this step skips that endpoint.
    """
    deadline = time.monotonic() + settings.WEBHOOK_STEP_SECONDS
    due = list(
        Event.objects.filter(
            state=EventState.PENDING, next_attempt_at__lte=now, endpoint__active=True
        )
        .exclude(lease_until__gt=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", "endpoint_id")[:limit]
    )
    failing: set[int] = set()
    for event_id, endpoint_id in due:
        if endpoint_id in failing:
            continue
        if time.monotonic() > deadline:
            return True
        result = event_attempt(event_id=event_id)
        if result is not None and not result.ok:
            failing.add(endpoint_id)
    return len(due) == limit


def run_webhook_step() -> bool:
    """Collect new events and send due requests; True while more work is waiting."""
    more = collect(now=timezone.now())
    return send_due(now=timezone.now(), limit=settings.WEBHOOK_SENDS_PER_STEP) or more
