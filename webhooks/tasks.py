"""Celery driver of the webhook step, queued by beat (CELERY_BEAT_SCHEDULE "webhooks")."""

from __future__ import annotations

import time

from celery import shared_task
from django.conf import settings

from webhooks.dispatch import run_webhook_step


@shared_task(name="webhooks.webhook_pass", ignore_result=True)  # type: ignore[untyped-decorator]
def webhook_pass() -> int:
    """Run webhook steps for up to CELERY_ENGINE_PASS_SECONDS; returns how many ran."""
    deadline = time.monotonic() + settings.CELERY_ENGINE_PASS_SECONDS
    steps = 1
    while run_webhook_step() and time.monotonic() < deadline:
        steps += 1
    return steps
