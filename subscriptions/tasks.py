"""Celery driver of the confirmation e-mails' worker step, queued by beat (CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from subscriptions.confirmations import run_confirmation_step


@shared_task(name="subscriptions.confirmation_pass", ignore_result=True)  # type: ignore[untyped-decorator]
def confirmation_pass() -> int:
    """Send the due confirmation e-mails of sign-ups; returns how many rounds ran."""
    rounds = 1
    while run_confirmation_step() and rounds < 10:
        rounds += 1
    return rounds
