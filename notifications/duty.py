"""The worker's notification duty, for both drivers: the embedded worker lists
`run_notification_step` in postroom.worker; Celery beat queues `notification_pass`."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from notifications.collect import collect
from notifications.mail import email_due


def run_notification_step() -> bool:
    """Turn new facts into notifications, then e-mail what is due; True while more waits."""
    more = collect(now=timezone.now())
    return email_due(now=timezone.now()) or more


@shared_task(name="notifications.notification_pass", ignore_result=True)  # type: ignore[untyped-decorator]
def notification_pass() -> int:
    """Celery: one step, again while more is waiting (bounded)."""
    rounds = 1
    while run_notification_step() and rounds < 10:
        rounds += 1
    return rounds
