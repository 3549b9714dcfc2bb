"""The hourly clean-up both drivers run: old captured messages, finished webhook requests and
uploads that will never be imported, expired API refresh tokens, sign-ups never confirmed and
audit entries older than AUDIT_LOG_DAYS, attempts and events older than their retention
(ATTEMPT_RETENTION_MONTHS, EVENT_RETENTION_MONTHS: on PostgreSQL whole months' partitions are
dropped); the attempt and event tables' partitions for the coming months (PostgreSQL); and
the dashboards' counts of the past days not counted yet.

The embedded worker calls the step on every loop; it does its work at most once an hour per
process (and the deletes are idempotent, so two workers doing it is harmless). Celery beat
queues the task hourly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import shared_task
from django.utils import timezone

from accounts.audit.services import purge as purge_audit_log
from accounts.housekeeping import purge_ended_sessions, purge_expired_tokens
from audience.housekeeping import purge_abandoned_uploads
from campaigns import dashboard
from campaigns.partitions import ATTEMPTS, forget_old_attempts
from sending.housekeeping import purge_captured
from subscriptions.housekeeping import purge_expired_signups
from tracking.partitions import EVENTS, forget_old_events
from webhooks.housekeeping import purge_finished_events

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600.0


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
    today = now.date()
    old_attempts, old_events = forget_old_attempts(today=today), forget_old_events(today=today)
    removed |= {"old_attempts": old_attempts.rows, "old_events": old_events.rows}
    if dropped := old_attempts.months + old_events.months:
        log.info("housekeeping dropped partitions %s", dropped)
    # The coming months' tables, made ahead.
    if made := ATTEMPTS.ensure(today) + EVENTS.ensure(today):
        log.info("housekeeping made partitions %s", made)
    if any(removed.values()):
        log.info("housekeeping removed %s", removed)
    # The dashboards' past days, counted here rather than by the first visit of the day.
    if days := dashboard.keep_past_days(now):
        log.info("housekeeping counted %s past days for the dashboards", days)
    return removed


class HousekeepingStep:
    """A worker step: clean up at once, then again whenever `interval` seconds have passed
    by `clock` since it last did; never says more work is waiting.

    The clock is a parameter so that a test can move it; the worker's step is the module's
    `run_housekeeping_step`, one per process, on the monotonic clock.
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, interval: float = INTERVAL_SECONDS
    ) -> None:
        self.clock = clock
        self.interval = interval
        self.last_run: float | None = None

    def __call__(self) -> bool:
        started = self.clock()
        if self.last_run is not None and started - self.last_run < self.interval:
            return False
        self.last_run = started
        housekeeping()
        return False


run_housekeeping_step = HousekeepingStep()


@shared_task(name="postroom.housekeeping", ignore_result=True)  # type: ignore[untyped-decorator]
def housekeeping_task() -> dict[str, int]:
    return housekeeping()
