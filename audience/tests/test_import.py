"""CSV import through the services and the worker step, with every kind of bad input."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from django.db import connection

from audience import jobs, selectors, services
from audience.importer import ImportFileError, auto_mapping
from audience.models import (
    AudienceJob,
    CustomField,
    JobStatus,
    ListMembership,
    Recipient,
    RecipientList,
)
from audience.tests.helpers import HEADER, import_csv, start, upload

SEED_ROWS = (
    "John,Doe,Acme Corp,john@example.com,USA,New York,VIP,Premium,Q1-2025\n"
    "Jane,Smith,Tech Inc,jane@example.com,UK,London,Standard,Basic,Q2-2025\n"
)


def emails(workspace) -> list[str]:
    return list(Recipient.objects.filter(workspace=workspace).values_list("email", flat=True))


def test_the_djangomailer_csv_imports_unchanged(workspace):
    job = import_csv(workspace, f"{HEADER}\n{SEED_ROWS}")
    assert (job.status, job.imported, job.rejected) == (JobStatus.DONE, 2, 0)
    john = Recipient.objects.get(workspace=workspace, email="john@example.com")
    assert (john.first_name, john.company, john.city) == ("John", "Acme Corp", "New York")
    assert john.fields == {"free_field1": "VIP", "free_field2": "Premium", "free_field3": "Q1-2025"}
    assert not Path(job.params["path"]).exists(), "the upload is removed when the job ends"


def test_common_column_names_map_automatically(workspace):
    header = ["E-mail", "First Name", "Surname", "Organisation", "Town", "Free Field1", "Notes"]
    assert auto_mapping(header, {"free_field1": "Free field1"}) == [
        "email",
        "first_name",
        "last_name",
        "company",
        "city",
        "field:free_field1",
        "comment",
    ]


@pytest.mark.parametrize(
    ("encoding", "name", "city"),
    [
        ("utf-8-sig", "Jürgen", "Köln Москва"),
        ("cp1251", "Иван", "Санкт-Петербург"),
        ("latin-1", "José", "Málaga"),
        ("utf-8", "Zoë", "Zürich"),
    ],
)
def test_encodings_are_detected(workspace, encoding, name, city):
    text = f"email;first_name;city\r\nperson@example.com;{name};{city}\r\n"
    job = import_csv(workspace, text.encode(encoding))
    recipient = Recipient.objects.get(workspace=workspace)
    assert (recipient.first_name, recipient.city) == (name, city), job.params["encoding"]
    assert job.params["delimiter"] == ";"


def test_quoted_fields_with_commas_and_newlines_keep_their_line_numbers(workspace):
    content = (
        "email,company,comment\n"
        'a@example.com,"Acme, Inc.","line one\nline two"\n'
        "broken-address,x,y\n"
    )
    job = import_csv(workspace, content)
    a = Recipient.objects.get(email="a@example.com")
    assert (a.company, a.comment) == ("Acme, Inc.", "line one\nline two")
    rejection = job.rejections.get()
    assert rejection.line == 4, "the quoted row spans lines 2-3, so the bad row is line 4"
    assert "Invalid e-mail address" in rejection.reason


def test_tab_delimited_files_are_detected(workspace):
    job = import_csv(workspace, "email\tfirst_name\nt@example.com\tTab\n")
    assert job.params["delimiter"] == "\t"
    assert emails(workspace) == ["t@example.com"]


def test_missing_and_invalid_emails_are_rejected_and_good_rows_kept(workspace):
    content = (
        f"{HEADER}\n"
        "A,,,,,,,,\n"
        "B,,,not-an-address,,,,,\n"
        "C,,,c@example.com,,,,,\n"
        "D,,,d@@example.com,,,,,\n"
    )
    job = import_csv(workspace, content)
    assert emails(workspace) == ["c@example.com"]
    assert [(r.line, r.reason.split(":")[0]) for r in job.rejections.all()] == [
        (2, "No e-mail address."),
        (3, "Invalid e-mail address"),
        (5, "Invalid e-mail address"),
    ]
    assert (job.imported, job.rejected) == (1, 3)


def test_duplicates_inside_the_file_and_against_existing_are_skipped(workspace):
    services.recipient_create(
        workspace=workspace, email="old@example.com", values={"first_name": "Old"}, fields={}
    )
    content = (
        "email,first_name\nnew@example.com,First\nNEW@example.com,Second\nold@example.com,Changed\n"
    )
    job = import_csv(workspace, content)
    assert (job.imported, job.updated, job.duplicates) == (1, 0, 2)
    assert Recipient.objects.get(email="new@example.com").first_name == "First"
    assert Recipient.objects.get(email="old@example.com").first_name == "Old"


def test_duplicates_across_batches_are_recognised(workspace, settings):
    settings.AUDIENCE_BATCH_SIZE = 2
    content = "email\n" + "".join(f"p{i}@example.com\n" for i in range(5)) + "p0@example.com\n"
    job = import_csv(workspace, content)
    assert (job.imported, job.duplicates) == (5, 1)


def test_add_and_update_changes_only_mapped_columns_and_merges_custom_values(workspace):
    import_csv(workspace, f"{HEADER}\n{SEED_ROWS}")
    content = "email,first_name,free_field2\njohn@example.com,Johnny,Gold\nnew@example.com,N,\n"
    job = import_csv(workspace, content, mode="update")
    assert (job.imported, job.updated, job.duplicates) == (1, 1, 0)
    john = Recipient.objects.get(email="john@example.com")
    assert (john.first_name, john.company) == ("Johnny", "Acme Corp")
    assert john.fields == {"free_field1": "VIP", "free_field2": "Gold", "free_field3": "Q1-2025"}


def test_rows_go_to_the_target_list(workspace):
    target = RecipientList.objects.create(workspace=workspace, name="Newsletter")
    import_csv(workspace, f"{HEADER}\n{SEED_ROWS}", recipient_list=target)
    assert ListMembership.objects.filter(recipient_list=target).count() == 2


def test_unknown_columns_can_become_new_custom_fields(workspace):
    content = "email,Loyalty Points,Shoe size\na@example.com,12,44\n"
    job = upload(workspace, content)
    assert job.params["header"] == ["email", "Loyalty Points", "Shoe size"]
    services.import_start(
        job=job,
        mapping=["email", "new:loyalty_points", ""],
        new_fields={"loyalty_points": "number"},
        mode="add",
        recipient_list=None,
    )
    assert jobs.run_next_job()
    field = CustomField.objects.get(workspace=workspace, key="loyalty_points")
    assert field.type == "number"
    assert Recipient.objects.get(email="a@example.com").fields == {"loyalty_points": 12}


def test_a_value_that_does_not_fit_its_field_type_rejects_the_row(workspace):
    CustomField.objects.create(workspace=workspace, key="age", label="Age", type="number")
    CustomField.objects.create(workspace=workspace, key="born", label="Born", type="date")
    content = (
        "email,age,born\n"
        "a@example.com,41,1983-04-02\n"
        "b@example.com,old,\n"
        "c@example.com,,2024-13-40\n"
    )
    job = import_csv(workspace, content)
    assert emails(workspace) == ["a@example.com"]
    assert Recipient.objects.get().fields == {"age": 41, "born": "1983-04-02"}
    assert [r.reason for r in job.rejections.all()] == [
        "age: 'old' is not a number",
        "born: '2024-13-40' is not a date (use YYYY-MM-DD)",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"   \n\n", "The file is empty"),
        (b"\x00\x01\x02\x03binary\x00\xff" * 50, "binary data"),
        (b"PK\x03\x04" + b"\x00" * 100, "spreadsheet workbook"),
        (b"john@example.com,John\njane@example.com,Jane\n", "holds an e-mail address"),
    ],
    ids=["empty", "blank-lines", "binary", "xlsx", "no-header"],
)
def test_unreadable_files_change_nothing_and_say_why(workspace, content, message):
    with pytest.raises(ImportFileError, match=message):
        upload(workspace, content)
    assert not AudienceJob.objects.exists()
    assert not list((Path(workspace_media(workspace))).glob("*"))


def workspace_media(workspace) -> Path:
    from django.conf import settings

    return Path(settings.MEDIA_ROOT) / "imports" / str(workspace.pk)


def test_a_file_over_the_size_limit_is_refused(workspace, settings):
    settings.AUDIENCE_IMPORT_MAX_BYTES = 1000
    with pytest.raises(ImportFileError, match="largest file Postroom imports is"):
        upload(workspace, "email\n" + "a@example.com\n" * 100)
    assert not AudienceJob.objects.exists()


def test_a_file_without_an_email_column_cannot_start(workspace):
    job = upload(workspace, "name,city\nJohn,Paris\n")
    with pytest.raises(Exception, match="Choose the column that holds the e-mail addresses"):
        services.import_start(
            job=job, mapping=["first_name", "city"], new_fields={}, mode="add", recipient_list=None
        )
    job.refresh_from_db()
    assert job.status == JobStatus.DRAFT
    assert not Recipient.objects.exists()


def test_a_cancelled_import_keeps_whole_batches_and_says_where_it_stopped(workspace, settings):
    settings.AUDIENCE_BATCH_SIZE = 10
    job = upload(workspace, "email\n" + "".join(f"p{i}@example.com\n" for i in range(50)))
    start(job, ["email"])
    running = jobs.claim_next_job()
    assert running is not None
    assert running.status == JobStatus.RUNNING
    # Cancel is pressed while the job runs: the worker ends the batch it is in (the first).
    services.job_cancel(job=job)
    jobs.run_import(running)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert Recipient.objects.count() == 10 == job.imported
    assert job.last_line == 11
    assert "Cancelled after line 11" in job.error
    assert not Path(job.params["path"]).exists()


def test_two_workers_never_take_the_same_job(workspace):
    job = upload(workspace, "email\na@example.com\n")
    services.import_start(
        job=job, mapping=["email"], new_fields={}, mode="add", recipient_list=None
    )
    first = jobs.claim_next_job()
    second = jobs.claim_next_job()
    assert first is not None
    assert first.pk == job.pk
    assert second is None


def test_memory_does_not_grow_with_the_file(workspace, settings, tmp_path):
    settings.AUDIENCE_BATCH_SIZE = 500

    def peak(rows: int) -> int:
        content = (
            HEADER
            + "\n"
            + "".join(f"F{i},L{i},C{i},p{rows}-{i}@example.com,X,Y,a,b,c\n" for i in range(rows))
        )
        job = upload(workspace, content)
        keys = dict(workspace.custom_fields.values_list("key", "label"))
        mapping = auto_mapping(job.params["header"], keys)
        services.import_start(
            job=job, mapping=mapping, new_fields={}, mode="add", recipient_list=None
        )
        del content
        tracemalloc.start()
        jobs.run_next_job()
        _, high = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return high

    small, large = peak(2000), peak(8000)
    assert Recipient.objects.count() == 10000
    # Four times the rows, about the same peak: only one batch is ever held.
    assert large < small * 1.5, (small, large)


def test_suppression_import_blocks_valid_addresses(workspace):
    added, invalid = services.suppression_import(
        workspace=workspace,
        lines=["email\n", "a@example.com,x\n", "B@example.com\n", "nope\n", "a@example.com\n"],
        reason="manual",
        source="test",
    )
    assert (added, invalid) == (2, ["nope"])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_imports_run_on_postgresql(workspace):
    job = import_csv(workspace, f"{HEADER}\n{SEED_ROWS}", mode="update")
    assert job.imported == 2


def test_the_fast_writer_skips_rows_that_appeared_meanwhile(workspace):
    # On PostgreSQL the straight COPY fails on the unique constraint and falls back.
    from django.utils import timezone

    from audience.bulkwrite import as_row, write_rows

    Recipient.objects.create(workspace=workspace, email="raced@example.com", first_name="First")
    rows = [as_row(e, {"first_name": "Copy"}, {}) for e in ("raced@example.com", "n@example.com")]
    write_rows(workspace.pk, rows, timezone.now())
    assert dict(Recipient.objects.values_list("email", "first_name")) == {
        "raced@example.com": "First",
        "n@example.com": "Copy",
    }


def test_a_job_whose_worker_died_is_resumed_after_its_last_batch(workspace, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.AUDIENCE_BATCH_SIZE = 10
    content = "email\n" + "".join(f"p{i}@example.com\n" for i in range(30)) + "p0@example.com\n"
    job = start(upload(workspace, content), ["email"])
    claimed = jobs.claim_next_job()
    assert claimed is not None
    assert claimed.started_at is not None
    # The first worker wrote one batch (lines 2-11), then died.
    from audience.importer import Plan, read_batches

    plan = Plan(mapping=["email"], custom_types={})
    first, size = next(read_batches(Path(job.params["path"]), "utf-8", ",", 10))
    services.import_write_batch(
        job=claimed,
        rows=[plan.parse(n, r) for n, r in first],
        stamp=claimed.started_at,
        bytes_read=size,
    )
    assert jobs.claim_next_job() is None, "a live job is not taken over"
    AudienceJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.AUDIENCE_JOB_STALE_SECONDS + 1)
    )
    assert jobs.run_next_job()
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert (job.imported, job.duplicates) == (30, 1)
    assert Recipient.objects.count() == 30


def test_the_engine_asks_about_suppression(workspace, personas):
    services.suppression_add(workspace=workspace, email="Gone@Example.com", reason="bounced")
    assert selectors.is_suppressed(workspace, " gone@example.COM")
    assert not selectors.is_suppressed(personas.other_workspace, "gone@example.com")
    Recipient.objects.create(workspace=workspace, email="gone@example.com")
    Recipient.objects.create(workspace=workspace, email="here@example.com")
    sendable = Recipient.objects.filter(workspace=workspace).exclude(
        email__in=selectors.suppressed_emails_query(workspace)
    )
    assert list(sendable.values_list("email", flat=True)) == ["here@example.com"]
