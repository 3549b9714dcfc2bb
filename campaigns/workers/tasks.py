"""Celery driver of the engine: the same steps as the embedded worker, queued by beat.

Beat queues `engine_pass` every few seconds; a pass runs engine steps until the queue is
empty or its time budget is spent, then ends, so a long campaign is carried by many short
tasks and a worker restart loses at most one pass (its leases expire and are reclaimed).
Several Celery workers can run passes at once on PostgreSQL (SKIP LOCKED shares the queue).
"""

from __future__ import annotations

import os
import socket
import time

from celery import shared_task
from django.conf import settings

from audience.jobs import run_next_job
from campaigns.engine.step import run_engine_step
from campaigns.workers.heartbeat import Heartbeat

_heartbeat = Heartbeat(f"{socket.gethostname()}:{os.getpid()}", kind="celery")


@shared_task(name="campaigns.engine_pass", ignore_result=True)  # type: ignore[untyped-decorator]
def engine_pass() -> int:
    """Run engine steps for up to CELERY_ENGINE_PASS_SECONDS; returns how many ran."""
    _heartbeat.beat()
    deadline = time.monotonic() + settings.CELERY_ENGINE_PASS_SECONDS
    steps = 1
    while run_engine_step() and time.monotonic() < deadline:
        steps += 1
    return steps


@shared_task(name="audience.job_pass", ignore_result=True)  # type: ignore[untyped-decorator]
def job_pass() -> int:
    """Run queued audience jobs (imports, bulk actions) one after another for a while."""
    deadline = time.monotonic() + settings.CELERY_ENGINE_PASS_SECONDS
    done = 0
    while time.monotonic() < deadline and run_next_job():
        done += 1
    return done
