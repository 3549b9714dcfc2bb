"""Celery driver of the A/B test duty, queued by beat (CELERY_BEAT_SCHEDULE "ab-tests")."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from automation.ab_decisions import ab_tests_decide_due


@shared_task(name="automation.ab_test_pass", ignore_result=True)  # type: ignore[untyped-decorator]
def ab_test_pass() -> int:
    """Decide the A/B tests whose wait is over; returns how many were decided."""
    return ab_tests_decide_due(now=timezone.now())
