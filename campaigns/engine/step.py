"""The engine's step for the workers: start what is due, send one batch, finish what is done.

Both drivers call this: the embedded worker in its loop, Celery from a task. It returns True
while there is more work waiting, so the loop sleeps only when the queue is empty.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from campaigns.engine.claim import claim_batch, sweep_stopped
from campaigns.engine.record import Recorder
from campaigns.engine.retry import RetryPolicy
from campaigns.engine.send import Sender
from campaigns.services import campaigns_finish_done, campaigns_start_due

# Deliveries claimed at once: enough that a batch's few statements cost little per message,
# few enough that a batch takes well under the lease (DELIVERY_LEASE_SECONDS) to send.
BATCH_SIZE = 500


class Engine:
    """One worker's engine: its name (for leases) and what it keeps between batches."""

    def __init__(self, batch_size: int = BATCH_SIZE) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch_size = batch_size
        self.sender = Sender(RetryPolicy.from_settings())

    def step(self) -> bool:
        now = timezone.now()
        campaigns_start_due(now=now)
        lease = timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
        deliveries = claim_batch(worker=self.name, limit=self.batch_size, now=now, lease=lease)
        if deliveries:
            recorder = Recorder(worker=self.name, deliveries=deliveries, lease=lease)
            self.sender.send_batch(deliveries, now, recorder)
            recorder.flush()
        sweep_stopped(now=timezone.now())
        campaigns_finish_done(now=timezone.now())
        busy = len(deliveries) == self.batch_size
        if not busy:  # idle connections are not kept open while nothing is due
            self.sender.close()
        return busy


_engine: Engine | None = None


def run_engine_step() -> bool:
    """The worker step: one engine per process, created on first use."""
    global _engine
    if _engine is None:
        _engine = Engine()
    return _engine.step()
