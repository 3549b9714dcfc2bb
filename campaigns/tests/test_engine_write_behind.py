"""Outcomes written behind: a full chunk goes to the writer thread while sending goes on.

On PostgreSQL, outside a transaction (as the workers run), a full chunk of plain outcomes is
written by `campaigns.engine.writer.Writer` on its own connection. These tests hold the
deliveries' rows locked from a third connection, so that the writer's statement waits for as
long as the test says: the sending thread must go on meanwhile, never keep more than one
chunk in the writer's hands, and lose nothing when the writer's write fails.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

import psycopg
import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from campaigns.engine import record as record_module
from campaigns.engine.claim import Claimed, claim_batch
from campaigns.engine.outcome import Outcome
from campaigns.engine.record import FLUSH_EVERY, UNRECORDED_AT_MOST, Recorder
from campaigns.engine.step import Engine
from campaigns.engine.writer import Writer
from campaigns.models import Attempt, AttemptOutcome, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from campaigns.tests.test_engine_fault_injection import (
    check,
    database_gone,
    fails_at,
    run_to_the_end,
)


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("outcomes are written behind on PostgreSQL only (SQLite: by the caller)")


# Long enough for any machine to get there; the tests wait this long only when they fail.
PATIENCE = 30.0


def test_the_writer_runs_jobs_in_order_and_hands_back_results_and_failures():
    writer = Writer()
    done: list[int] = []

    def job(i: int) -> int:
        time.sleep(0.001 * (5 - i))  # the later a job, the quicker: order is still kept
        done.append(i)
        return i * 10

    futures = [writer.submit(partial(job, i)) for i in range(5)]
    failing = writer.submit(lambda: 1 // 0)
    assert [f.result(timeout=PATIENCE) for f in futures] == [0, 10, 20, 30, 40]
    assert done == [0, 1, 2, 3, 4]
    with pytest.raises(ZeroDivisionError):
        failing.result(timeout=PATIENCE)
    assert writer.submit(lambda: "after a failure").result(timeout=PATIENCE) == "after a failure"
    writer.close()
    assert writer._thread is None
    assert writer.submit(lambda: "after close").result(timeout=PATIENCE) == "after close"
    writer.close()


def value(sql: str, params: list[int] | None = None) -> int | None:
    """The first column of the first row (None for none), on the test's connection."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def backend_alive(pid: int) -> bool:
    return value("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]) == 1


def backend_ends(pid: int) -> bool:
    """Whether the backend goes (it exits a moment after its client closed the connection)."""
    deadline = time.monotonic() + PATIENCE
    while backend_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not backend_alive(pid)


@pytest.mark.django_db(transaction=True)
def test_the_writer_closes_its_connection_when_closed_and_when_idle():
    require_postgresql()

    def backend() -> int:
        pid = value("SELECT pg_backend_pid()")
        assert pid is not None
        return pid

    writer = Writer()
    pid = writer.submit(backend).result(timeout=PATIENCE)
    assert pid != backend()
    assert backend_alive(pid)
    writer.close()
    assert writer._thread is None
    assert backend_ends(pid)

    idle = Writer(idle_seconds=0.05)
    pid = idle.submit(backend).result(timeout=PATIENCE)
    assert backend_ends(pid)  # nothing to do: the thread ended and closed it
    assert idle._thread is None


def sent(delivery: Claimed, account_id: int) -> Outcome:
    return Outcome(
        delivery.pk,
        DeliveryStatus.SENT,
        attempt=AttemptOutcome.SENT,
        spend_attempt=True,
        account_id=account_id,
        code=250,
        reply="250 2.0.0 queued",
        message_id=f"<{delivery.pk}@bench.example.com>",
    )


@contextmanager
def rows_locked(ids: list[int]) -> Iterator[psycopg.Connection]:
    """The deliveries' rows locked by a connection of the test's own, until the block ends
    (or the test commits it earlier): an UPDATE of any of them waits."""
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=False) as holder:
        holder.execute("SELECT 1 FROM campaigns_delivery WHERE id = ANY(%s) FOR UPDATE", [ids])
        yield holder


def feed(recorder: Recorder, outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        recorder(outcome)


def in_thread(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def claimed(personas, smtp_sink, n: int) -> tuple[list[Claimed], Recorder, list[Outcome]]:
    """A claimed batch of `n`, its recorder (with a writer thread) and a sent outcome each."""
    setup = make_campaign(personas.workspace, smtp_sink, n=n)
    campaign_start(campaign=setup.campaign)
    lease = timedelta(minutes=2)
    batch = claim_batch(worker="w", limit=n, now=timezone.now(), lease=lease)
    assert len(batch) == n
    recorder = Recorder(worker="w", deliveries=batch, lease=lease, writer=Writer())
    return batch, recorder, [sent(d, setup.account.pk) for d in batch]


@pytest.mark.django_db(transaction=True)
def test_sending_goes_on_while_a_chunk_is_written_and_one_chunk_at_most_waits(personas, smtp_sink):
    require_postgresql()
    batch, recorder, outcomes = claimed(personas, smtp_sink, UNRECORDED_AT_MOST + 1)
    try:
        with rows_locked([batch[0].pk]) as holder:
            # The first chunk's statement waits for the lock; the next chunk fills meanwhile.
            going_on = in_thread(partial(feed, recorder, outcomes[: 2 * FLUSH_EVERY - 1]))
            going_on.join(PATIENCE)
            assert not going_on.is_alive()  # the caller went on while the chunk was written
            assert recorder.writing is not None
            assert not recorder.writing.done.done()
            assert Delivery.objects.filter(status=DeliveryStatus.SENDING).count() == len(batch)
            # The second full chunk waits for the first to be written: never more unwritten.
            held = in_thread(partial(feed, recorder, [outcomes[2 * FLUSH_EVERY - 1]]))
            held.join(0.2)
            assert held.is_alive()
            holder.commit()  # the lock goes: the first chunk's statement runs
            held.join(PATIENCE)
            assert not held.is_alive()
        recorder(outcomes[-1])
        recorder.flush()
    finally:
        Writer.close_all()
    assert recorder.open == {}
    assert recorder.writing is None
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == len(batch)
    assert Attempt.objects.count() == len(batch)  # one attempt each, none written twice


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("met_by", ["the next write", "salvage"])
def test_a_chunk_whose_write_failed_is_written_by_salvage(personas, smtp_sink, met_by):
    """The writer's backend is terminated while its statement waits (a failover, an
    administrator). Met by the next write, the failure is raised there; met by `salvage`
    (the batch failed elsewhere meanwhile), it is not. Either way `salvage` writes every
    outcome on the caller's connection."""
    require_postgresql()
    batch, recorder, outcomes = claimed(personas, smtp_sink, FLUSH_EVERY + 10)
    try:
        with rows_locked([batch[0].pk]) as holder:
            for outcome in outcomes:
                recorder(outcome)
            assert recorder.writing is not None
            waiting = waiting_backend(holder)
            holder.execute("SELECT pg_terminate_backend(%s)", [waiting])
            if met_by == "the next write":
                with pytest.raises(OperationalError):
                    recorder.flush()
                assert len(recorder.pending) == len(batch)  # nothing forgotten
            holder.commit()
        recorder.salvage()
    finally:
        Writer.close_all()
    assert recorder.open == {}
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == len(batch)
    assert Attempt.objects.count() == len(batch)


def waiting_backend(holder: psycopg.Connection) -> int:
    """The backend whose statement waits for `holder`'s lock."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        # Asked on the test's connection: the holder's transaction would see one snapshot.
        pid = value(
            "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
            [holder.info.backend_pid],
        )
        if pid is not None:
            return pid
        time.sleep(0.02)
    raise AssertionError("the writer's statement never waited for the lock")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("k", [0, 2])
def test_a_write_behind_that_fails_mid_campaign_mixes_nothing_up_and_loses_nothing(
    personas, smtp_sink, time_machine, monkeypatch, settings, k
):
    """The whole engine, chunks of 10 written behind; the writer's k-th write raises."""
    require_postgresql()
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    smtp_sink.offer_pipelining()
    settings.SENDING_CONNECTIONS_PER_ACCOUNT = 3
    monkeypatch.setattr(record_module, "FLUSH_EVERY", 10)
    writes: list[str] = []
    real = fails_at(k, record_module.write_outcomes, database_gone())

    def write_outcomes(**kwargs):
        writes.append(threading.current_thread().name)
        return real(**kwargs)

    monkeypatch.setattr(record_module, "write_outcomes", write_outcomes)
    setup = make_campaign(personas.workspace, smtp_sink, n=60)
    campaign_start(campaign=setup.campaign)
    engine = Engine(batch_size=25)
    try:
        failures = run_to_the_end(engine, time_machine, setup)
    finally:
        engine.writer.close()
    assert failures == [repr(database_gone())]
    assert "postroom-writer" in writes  # the chunks did go to the writer
    assert setup.campaign.status == CampaignStatus.COMPLETED
    check(setup, smtp_sink, duplicates_bound=settings.SENDING_CONNECTIONS_PER_ACCOUNT)
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 60
    assert Attempt.objects.filter(outcome=AttemptOutcome.SENT).count() == 60
