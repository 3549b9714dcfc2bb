"""Celery drivers of automation's duties, queued by beat (CELERY_BEAT_SCHEDULE "ab-tests" and
"sequences")."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from automation.ab_decisions import ab_tests_decide_due
from automation.sequences.schedule import sequences_advance


@shared_task(name="automation.ab_test_pass", ignore_result=True)  # type: ignore[untyped-decorator]
def ab_test_pass() -> int:
    """Decide the A/B tests whose wait is over; returns how many were decided."""
    return ab_tests_decide_due(now=timezone.now())


@shared_task(name="automation.sequence_pass", ignore_result=True)  # type: ignore[untyped-decorator]
def sequence_pass() -> int:
    """Enrol, stop and schedule the sequences' due steps; returns how many were scheduled."""
    return sequences_advance(now=timezone.now()).scheduled
