"""Imports whose batches are written on a thread of their own while the next is parsed.

Run outside a test transaction, so that on PostgreSQL the writer thread's connection sees
what the import wrote (on SQLite the same scenarios run in the caller's thread). Each
scenario says where the import stopped and what it kept, as the serial path does.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

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


def in_flight(settings) -> int:
    """How many batches are written at once: IMPORT_WRITERS on PostgreSQL, else one."""
    return settings.IMPORT_WRITERS if connection.vendor == "postgresql" else 1


def test_a_cancel_stops_after_the_batches_in_flight(workspace, batches_of_ten, settings):
    job = start(upload(workspace, "email\n" + addresses(50)), ["email"])
    running = jobs.claim_next_job()
    assert running is not None
    services.job_cancel(job=job)
    jobs.run_import(running)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    # The batches in flight when the cancel was seen were written; the next, already
    # parsed, was not.
    written = 10 * in_flight(settings)
    assert Recipient.objects.filter(workspace=workspace).count() == written == job.imported
    assert job.last_line == written + 1
    assert f"Cancelled after line {written + 1}" in job.error


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
    workspace, batches_of_ten, monkeypatch, settings
):
    real = services.import_write_batch
    calls = []

    def third_fails(**kwargs):
        first_line = kwargs["rows"].lines[0].line  # a prepared batch (ImportBatch)
        calls.append(first_line)
        if first_line == 22:
            raise RuntimeError("the database went away")
        return real(**kwargs)

    monkeypatch.setattr(services, "import_write_batch", third_fails)
    job = start(upload(workspace, "email\n" + addresses(50)), ["email"])
    assert jobs.run_next_job()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "the database went away" in job.error
    # A batch already in flight beside the failed one is rolled back (its turn refuses it);
    # none is started after.
    assert sorted(calls) == [2, 12, 22, 32][: 3 + in_flight(settings) - 1]
    assert (job.imported, job.last_line) == (20, 21)
    assert Recipient.objects.filter(workspace=workspace).count() == 20


def _outcome(workspace, job) -> tuple[Any, ...]:
    """What an import leaves: the recipients with their values and lists, and its report."""
    job.refresh_from_db()
    people = list(
        Recipient.objects.filter(workspace=workspace)
        .order_by("email")
        .values_list("email", "first_name", "city", "lists__name")
    )
    report = list(
        ImportRejection.objects.filter(job=job).order_by("line").values_list("line", "reason")
    )
    counts = (job.status, job.imported, job.updated, job.unchanged, job.duplicates, job.rejected)
    return counts, job.last_line, people, report


@pytest.mark.parametrize("mode", ["add", "update"])
def test_two_writers_leave_what_one_leaves(workspace, batches_of_ten, settings, caplog, mode):
    """Each batch repeats an address of the batch just before it (written at the same time
    with two writers): the first line wins, every later one is listed as a duplicate with
    its line, the list gets every address once, and the counts add up as with one writer."""
    from audience.models import RecipientList

    rows = ["email,first_name,city"]
    for i in range(60):
        rows.append(f"p{i}@example.com,First{i},Paris")
        if i % 10 == 3 and i > 10:  # the batch before's address, other values
            rows.append(f"p{i - 8}@example.com,Later{i},Lyon")
    rows.append("nope,Bad,Rome")
    content = "\n".join(rows) + "\n"
    Recipient.objects.create(workspace=workspace, email="p1@example.com", first_name="Old")
    results = []
    for writers in (1, 2):
        settings.IMPORT_WRITERS = writers
        Recipient.objects.filter(workspace=workspace).exclude(email="p1@example.com").delete()
        Recipient.objects.filter(email="p1@example.com").update(first_name="Old", city="")
        target, _ = RecipientList.objects.get_or_create(workspace=workspace, name="Imported")
        target.recipients.clear()
        caplog.clear()
        caplog.set_level(logging.INFO, logger="audience.jobs")
        job = upload(workspace, content)
        services.import_start(
            job=job,
            mapping=["email", "first_name", "city"],
            new_fields={},
            mode=mode,
            recipient_list=target,
        )
        assert jobs.run_next_job()
        results.append(_outcome(workspace, job))
        if connection.vendor == "postgresql":
            assert len(writer_threads(caplog)) == writers, writer_threads(caplog)
    one, two = results
    assert one == two
    counts, _, people, report = two
    assert counts[0] == JobStatus.DONE
    assert len(people) == 60
    assert all(name.startswith("First") or name == "Old" for _, name, _, _ in people)
    assert {lists for *_, lists in people} == {"Imported"}
    duplicates = [(line, reason) for line, reason in report if "Duplicate" in reason]
    assert len(duplicates) == 5  # lines repeating the batch before's address
    assert all("on line " in reason for _, reason in duplicates), duplicates
