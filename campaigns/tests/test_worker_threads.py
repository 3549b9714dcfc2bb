"""The embedded worker runs its duty groups in threads: a long import never stops sending."""

from __future__ import annotations

import itertools
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audience import services as audience_services
from audience.models import AudienceJob, JobStatus
from campaigns.services import campaign_start
from campaigns.tests import processes
from campaigns.tests.conftest import make_campaign
from campaigns.workers.embedded import ThreadedWorker
from postroom.worker import DUTIES, DUTY_GROUPS, LEAST_IDLE_SECONDS


def test_every_duty_runs_in_exactly_one_group():
    assert len(DUTIES) == len(set(DUTIES)) == 9
    assert DUTY_GROUPS["engine"] != DUTY_GROUPS["imports"]


def _stop_when(worker: ThreadedWorker, event: threading.Event, patience: float = 30.0) -> None:
    """Stop the worker once `event` is set (or after `patience` seconds at most): the tests
    wait for what they want to see, never for a slice of wall-clock time, so a slow machine
    makes them slower, not red."""

    def stop() -> None:
        event.wait(timeout=patience)
        worker.stop()

    threading.Thread(target=stop, daemon=True).start()


def test_a_long_step_of_one_group_does_not_hold_up_another():
    importing = threading.Event()  # the import group is inside its (long) step
    released = threading.Event()  # the engine group sent 20 times meanwhile
    sent: list[int] = []

    def long_import() -> bool:
        importing.set()
        released.wait(timeout=30)  # one loop for both would wait here the whole 30 s
        importing.clear()
        return False

    def send() -> bool:
        if importing.is_set():
            sent.append(1)
            if len(sent) >= 20:
                released.set()
        return True

    worker = ThreadedWorker({"imports": [long_import], "engine": [send]}, idle_seconds=0.01)
    _stop_when(worker, released)
    worker.run()  # returns once every thread has finished its current step
    assert released.is_set(), f"only {len(sent)} sends while the import step ran"


def test_a_crashed_group_is_logged_and_started_again_while_the_others_go_on(caplog):
    crashes: list[int] = []
    beats: list[int] = []
    ticks: list[int] = []
    seen = threading.Event()

    def check() -> None:
        if len(crashes) >= 2 and len(beats) > 10 and len(ticks) > 10:
            seen.set()

    def crash() -> bool:
        crashes.append(1)
        if len(crashes) == 1:
            raise SystemExit("a duty that kills its thread")
        check()
        return False

    def steady() -> bool:
        beats.append(1)
        check()
        return False

    def tick() -> None:
        ticks.append(1)
        check()

    worker = ThreadedWorker(
        {"bad": [crash], "good": [steady]},
        idle_seconds=0.02,
        tick=tick,
        restart_seconds=0.1,
    )
    _stop_when(worker, seen)
    worker.run()
    assert "worker duties 'bad' crashed" in caplog.text
    assert "starting them again" in caplog.text
    assert len(crashes) >= 2  # started again
    assert len(beats) > 10  # never stopped
    assert len(ticks) > 10  # the heartbeat neither
    assert "worker stopped" in caplog.text


def test_a_group_with_a_least_idle_time_polls_no_faster_for_a_short_idle():
    """A worker started with a short --idle (the engine quick to start a batch) must not
    have its feedback duties query the database twenty times a second."""
    polled: list[int] = []
    fast: list[int] = []
    seen = threading.Event()

    def poll() -> bool:
        polled.append(1)
        return False  # nothing due: the group sleeps

    def engine() -> bool:
        fast.append(1)
        if len(fast) >= 20:
            seen.set()
        return False

    worker = ThreadedWorker(
        {"feedback": [poll], "engine": [engine]},
        idle_seconds=0.01,
        least_idle={"feedback": 3600.0},
    )
    _stop_when(worker, seen)
    worker.run()
    assert len(fast) >= 20
    assert len(polled) == 1  # once at the start, then asleep until the worker stopped


def test_the_embedded_workers_feedback_and_import_duties_poll_at_most_once_a_second():
    assert LEAST_IDLE_SECONDS.keys() == DUTY_GROUPS.keys() - {"engine"}
    assert all(seconds >= 1.0 for seconds in LEAST_IDLE_SECONDS.values())


# Long enough to see gaps on a fast machine: 60,000 took 3.9 s in CI with one import writer,
# 150,000 took 3.7 s with two (IMPORT_WRITERS).
IMPORT_ROWS = 300_000


def _queue_a_large_import(workspace) -> AudienceJob:
    data = "email,first_name,company\n" + "".join(
        f"imported{i}@example.org,Name{i},Company {i % 97}\n" for i in range(IMPORT_ROWS)
    )
    job = audience_services.import_upload(
        workspace=workspace,
        user=None,
        upload=SimpleUploadedFile("big.csv", data.encode(), "text/csv"),
    )
    audience_services.import_start(
        job=job,
        mapping=["email", "first_name", "company"],
        new_fields={},
        mode="add",
        recipient_list=None,
    )
    return job


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(300)
def test_a_campaign_keeps_sending_while_a_large_import_runs(
    personas, smtp_sink, tmp_path, settings
):
    processes.require_postgresql()
    settings.MEDIA_ROOT = tmp_path / "media"
    # One message a second: the campaign outlasts the import, its gaps are about a second.
    setup = make_campaign(personas.workspace, smtp_sink, n=200)
    setup.account.min_interval_seconds = 1
    setup.account.save(update_fields=["min_interval_seconds"])
    campaign_start(campaign=setup.campaign)
    env = processes.worker_env(smtp_sink, MEDIA_ROOT=str(settings.MEDIA_ROOT))
    log = tmp_path / "worker.log"
    worker = processes.start(["manage.py", "worker", "--idle", "0.1"], env, log)
    try:
        processes.wait_until(lambda: len(smtp_sink.messages) >= 3, 60, "sending to start")
        job = _queue_a_large_import(personas.workspace)
        processes.wait_until(
            lambda: AudienceJob.objects.get(pk=job.pk).status in (JobStatus.DONE, JobStatus.FAILED),
            240,
            "the import to finish",
        )
        sent_at_end = len(smtp_sink.messages)
        processes.wait_until(lambda: len(smtp_sink.messages) > sent_at_end, 30, "one more sent")
    finally:
        processes.stop(worker)
    output = log.read_text()
    job.refresh_from_db()
    assert (job.status, job.imported) == (JobStatus.DONE, IMPORT_ROWS), output[-3000:]
    assert job.started_at is not None
    assert job.finished_at is not None
    took = (job.finished_at - job.started_at).total_seconds()
    times = sorted(m.received_at for m in smtp_sink.messages)
    # The gaps that overlap the import, the ones across its start and its end included.
    start, end = job.started_at, job.finished_at
    gaps = [
        (b - a).total_seconds() for a, b in itertools.pairwise(times) if b >= start and a <= end
    ]
    during = sum(1 for t in times if start <= t <= end)
    print(f"\nimport of {IMPORT_ROWS:,} rows: {took:.1f} s; {during} messages sent meanwhile; "
          f"largest gap {max(gaps):.2f} s")  # fmt: skip
    assert took > 4, "the import is too short to show anything; import more rows"
    # Run in one loop with the import, sending stopped for the whole import (a gap of `took`).
    assert max(gaps) < took / 3, (gaps, output[-3000:])
    assert during >= took / 4
    assert "worker stopped" in output
