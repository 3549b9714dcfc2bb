"""Imports whose batches are written on a thread of their own while the next is parsed.

Run outside a test transaction, so that on PostgreSQL the writer thread's connection sees
what the import wrote (on SQLite the same scenarios run in the caller's thread). Each
scenario says where the import stopped and what it kept, as the serial path does.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.db import connection

from audience import jobs, services
from audience.models import ImportRejection, JobStatus, Recipient
from audience.tests.helpers import start, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def batches_of_ten(settings):
    settings.AUDIENCE_BATCH_SIZE = 10


def addresses(count: int, start_at: int = 0) -> str:
    return "".join(f"p{i}@example.com\n" for i in range(start_at, start_at + count))


def writer_threads(caplog) -> set[str]:
    return {r.threadName for r in caplog.records if r.getMessage().startswith("import batch")}


def test_batches_are_written_in_order_by_the_writer_thread(workspace, batches_of_ten, caplog):
    # Line 2 comes back on line 37 (two batches later), a bad address on line 20.
    content = "email\n" + addresses(18) + "nope\n" + addresses(16, 18) + "p0@example.com\n"
    caplog.set_level(logging.INFO, logger="audience.jobs")
    job = start(upload(workspace, content), ["email"])
    assert jobs.run_next_job()
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert (job.imported, job.rejected, job.duplicates) == (34, 1, 1)
    assert job.last_line == 37
    assert Recipient.objects.filter(workspace=workspace).count() == 34
    assert list(ImportRejection.objects.filter(job=job).values_list("line", "duplicate")) == [
        (20, False),
        (37, True),
    ]
    threads = writer_threads(caplog)
    if connection.vendor == "postgresql":
        assert threads
        assert all(name.startswith("import-writer") for name in threads), threads
    else:
        assert threads == {"MainThread"}


def test_a_cancel_stops_after_the_batch_in_flight(workspace, batches_of_ten):
    job = start(upload(workspace, "email\n" + addresses(50)), ["email"])
    running = jobs.claim_next_job()
    assert running is not None
    services.job_cancel(job=job)
    jobs.run_import(running)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    # The first batch was written; the second, already parsed, was not.
    assert Recipient.objects.filter(workspace=workspace).count() == 10 == job.imported
    assert job.last_line == 11
    assert "Cancelled after line 11" in job.error


def test_a_file_that_breaks_mid_way_keeps_every_batch_before_the_bad_spot(workspace, settings):
    # Large enough that the decoder reads whole batches before it meets the bad bytes. The
    # encoding is checked over the whole file at upload (test_import_messy); a file that
    # changes on disk afterwards can still break mid-way.
    settings.AUDIENCE_BATCH_SIZE = 100
    job = upload(workspace, "email\n" + addresses(2000))
    with Path(job.params["path"]).open("ab") as stored:
        stored.write(b"\xe9\xe9@example.com\n" + b"z@example.com\n")
    start(job, ["email"])
    assert jobs.run_next_job()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "not entirely in utf-8" in job.error
    kept = Recipient.objects.filter(workspace=workspace).count()
    assert kept == job.imported == job.last_line - 1 > 1000
    assert f"Rows up to line {job.last_line} were handled" in job.error
    assert not Recipient.objects.filter(email="z@example.com").exists()


def test_a_failed_write_fails_the_job_and_keeps_the_batches_before_it(
    workspace, batches_of_ten, monkeypatch
):
    real = services.import_write_batch
    calls = []

    def third_fails(**kwargs):
        calls.append(kwargs["rows"].lines[0].line)  # a prepared batch (ImportBatch)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real(**kwargs)

    monkeypatch.setattr(services, "import_write_batch", third_fails)
    job = start(upload(workspace, "email\n" + addresses(50)), ["email"])
    assert jobs.run_next_job()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "the database went away" in job.error
    assert calls == [2, 12, 22], "nothing is written after the failed batch"
    assert (job.imported, job.last_line) == (20, 21)
    assert Recipient.objects.filter(workspace=workspace).count() == 20
