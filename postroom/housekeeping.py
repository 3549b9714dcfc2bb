"""The hourly clean-up both drivers run: old captured messages and finished webhook requests.

The embedded worker calls the step on every loop; it does its work at most once an hour per
process (and the deletes are idempotent, so two workers doing it is harmless). Celery beat
queues the task hourly.
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.utils import timezone

from sending.housekeeping import purge_captured
from webhooks.housekeeping import purge_finished_events

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600.0
_last_run: float | None = None


def housekeeping() -> dict[str, int]:
    now = timezone.now()
    removed = {
        "captured_messages": purge_captured(now=now),
        "webhook_requests": purge_finished_events(now=now),
    }
    if any(removed.values()):
        log.info("housekeeping removed %s", removed)
    return removed


def run_housekeeping_step() -> bool:
    """A worker step: clean up when an hour has passed; never says more work is waiting."""
    global _last_run
    started = time.monotonic()
    if _last_run is not None and started - _last_run < INTERVAL_SECONDS:
        return False
    _last_run = started
    housekeeping()
    return False


@shared_task(name="postroom.housekeeping", ignore_result=True)  # type: ignore[untyped-decorator]
def housekeeping_task() -> dict[str, int]:
    return housekeeping()
