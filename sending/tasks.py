"""Celery driver of the sending app's worker step, queued by beat (CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from sending.notices import run_notice_step


@shared_task(name="sending.notice_pass", ignore_result=True)  # type: ignore[untyped-decorator]
def notice_pass() -> int:
    """E-mail the owners about accounts gone to error; returns how many rounds ran."""
    rounds = 1
    while run_notice_step() and rounds < 10:
        rounds += 1
    return rounds
