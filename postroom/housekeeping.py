"""The hourly clean-up both drivers run: old captured messages, finished webhook requests and
uploads that will never be imported, expired API refresh tokens, sign-ups never confirmed and
audit entries older than AUDIT_LOG_DAYS; and the event table's partitions for the coming months
(PostgreSQL).

The embedded worker calls the step on every loop; it does its work at most once an hour per
process (and the deletes are idempotent, so two workers doing it is harmless). Celery beat
queues the task hourly.
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.utils import timezone

from accounts.audit.services import purge as purge_audit_log
from accounts.housekeeping import purge_ended_sessions, purge_expired_tokens
from audience.housekeeping import purge_abandoned_uploads
from sending.housekeeping import purge_captured
from subscriptions.housekeeping import purge_expired_signups
from tracking.partitions import ensure_partitions
from webhooks.housekeeping import purge_finished_events

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600.0
_last_run: float | None = None


def housekeeping() -> dict[str, int]:
    now = timezone.now()
    removed = {
        "captured_messages": purge_captured(now=now),
        "import_uploads": purge_abandoned_uploads(now=now),
        "webhook_requests": purge_finished_events(now=now),
        "expired_tokens": purge_expired_tokens(now=now),
        "audit_entries": purge_audit_log(now=now),
        "expired_signups": purge_expired_signups(now=now),
        "ended_sessions": purge_ended_sessions(now=now),
    }
    made = ensure_partitions(now.date())  # the coming months' event tables, made ahead
    if made:
        log.info("housekeeping made event partitions %s", made)
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
