"""The engine's step for the workers: start what is due, send one batch, finish what is done.

Both drivers call this: the embedded worker in its loop, Celery from a task. It returns True
while there is more work waiting, so the loop sleeps only when the queue is empty.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from campaigns import metrics
from campaigns.engine.claim import Claimed, claim_batch, give_back_unused_room, sweep_stopped
from campaigns.engine.record import FLUSH_SECONDS, Recorder
from campaigns.engine.replan import replan_waiting_for_room
from campaigns.engine.retry import RetryPolicy
from campaigns.engine.send import Sender
from campaigns.engine.writer import Writer
from campaigns.services import (
    campaigns_finish_done,
    campaigns_freeze_finished,
    campaigns_launch_queued,
    campaigns_start_due,
)

# Deliveries claimed at once: enough that a batch's few statements cost little per message,
# few enough that a batch takes well under the lease (DELIVERY_LEASE_SECONDS) to send (and
# its lease is renewed while it goes on). Measured with bench_send (2 workers, PostgreSQL):
# 500 -> 1,000 took the workers' CPU from 141 to 131 us a message; 2,000 gave 127.
BATCH_SIZE = 1000
# How long a step goes on giving more work to the accounts whose lanes ended while another
# account's lane is still running (a slow or dead server: longer than a connection's
# timeout); after that it waits for the slow lane, so that the worker's other duties run.
FEED_SECONDS = 60.0
# While batches follow each other (a busy queue: a step every few tens of milliseconds), the
# campaigns' own changes are looked at once per this many seconds: scheduled and launched
# campaigns starting, lifted limits, finished campaigns completing and frozen, run-out leases
# of stopped ones. Done at every step they took a tenth of a busy worker's time. A step
# that finds the queue empty, and the one after it, look at once.
CHECK_SECONDS = 1.0


class Engine:
    """One worker's engine: its name (for leases) and what it keeps between batches."""

    def __init__(self, batch_size: int = BATCH_SIZE) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch_size = batch_size
        lease = timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
        self.sender = Sender(RetryPolicy.from_settings(), holder=self.name, hold_for=lease)
        # Writes the outcomes of busy batches while they go on sending (see Recorder).
        self.writer = Writer()
        self.checked_at: float | None = None  # monotonic; None: the last step was not busy

    def step(self) -> bool:
        """Start what is due, send one batch, finish what is done; True while more is due.

        Raises what failed (the drivers log it and go on). Before that, whatever state the
        failure may have left behind is discarded: every SMTP connection is closed (one may
        be in the middle of a transaction), a broken database connection is replaced, and
        what the batch already knows is written on the new one where possible (see
        `Recorder.salvage`); otherwise the leases bring the deliveries back.
        """
        try:
            return self._step()
        except BaseException:
            self.sender.close()
            self.writer.close()
            _replace_broken_database_connection()
            raise

    def _step(self) -> bool:
        check = self.checked_at is None or time.monotonic() - self.checked_at >= CHECK_SECONDS
        now = timezone.now()
        if check:
            campaigns_start_due(now=now)
            # Started from a page or the API: the deliveries are created here, not in the
            # request.
            campaigns_launch_queued(now=now)
            now = timezone.now()  # a large launch takes seconds
        give_back_unused_room(now=now)  # before the dead worker's deliveries are claimed again
        if check:
            replan_waiting_for_room(now=now)  # a lifted limit: waiting deliveries may go now
        lease = timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
        started = time.monotonic()
        deliveries = claim_batch(worker=self.name, limit=self.batch_size, now=now, lease=lease)
        metrics.claimed(len(deliveries), time.monotonic() - started)
        busy = len(deliveries) == self.batch_size
        recorders: list[Recorder] = []
        try:
            if deliveries:
                self._start(deliveries, now, lease, recorders)
            busy = self._serve_lanes(lease, recorders) or busy
            for recorder in recorders:
                recorder.flush()
        except Exception:
            # The lanes are stopped first (`close` waits for them), so that nothing is sent
            # while the batches are given back; salvage needs a working database connection.
            self.sender.close()
            _replace_broken_database_connection()
            for recorder in recorders:
                recorder.salvage(give_back=recorder is recorders[-1])
            raise
        if check or not busy:
            sweep_stopped(now=timezone.now())
            campaigns_finish_done(now=timezone.now())
            campaigns_freeze_finished()  # so that the campaign list only reads
        if check:
            self.checked_at = time.monotonic()
        if not busy:  # idle connections are not kept open while nothing is due
            self.sender.close()
            self.writer.close()
            self.checked_at = None
        return busy

    def _start(
        self, deliveries: list[Claimed], now: datetime, lease: timedelta, recorders: list[Recorder]
    ) -> None:
        recorder = Recorder(
            worker=self.name, deliveries=deliveries, lease=lease, started=now, writer=self.writer
        )
        recorders.append(recorder)
        self.sender.start(deliveries, now, recorder, recorder.stopped_as)

    def _serve_lanes(self, lease: timedelta, recorders: list[Recorder]) -> bool:
        """While accounts' lanes run, record their outcomes, keep the batches' leases alive,
        and give each account whose lane ended more of what is due (for FEED_SECONDS): a
        slow or dead server holds up its own account's messages, not the others'. True when
        a batch was full (more may be due)."""
        busy = False
        feed_until = time.monotonic() + FEED_SECONDS
        while self.sender.lanes:
            ended = self.sender.serve(timeout=FLUSH_SECONDS)
            for recorder in recorders:
                recorder.flush()  # the results that came, and the leases of the slow ones
            if not ended or not self.sender.lanes or time.monotonic() > feed_until:
                continue
            now = timezone.now()
            more = claim_batch(
                worker=self.name,
                limit=self.batch_size,
                now=now,
                lease=lease,
                busy=self.sender.busy_accounts(),
            )
            if more:
                busy = busy or len(more) == self.batch_size
                self._start(more, now, lease, recorders)
        return busy


def _replace_broken_database_connection() -> None:
    """A connection that failed (server restarted, backend terminated) is closed, so that the
    next query opens a new one instead of failing again on the dead one."""
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


_engine: Engine | None = None


def run_engine_step() -> bool:
    """The worker step: one engine per process, created on first use."""
    global _engine
    if _engine is None:
        _engine = Engine()
    return _engine.step()
