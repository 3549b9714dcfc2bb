"""Messy files: oversized cells, late non-ASCII bytes, our own exports, duplicates, extra cells.

Each test checks what the user is told (the report, the job page or the API) and that no row
of the file is lost without a line in that report.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audience import jobs, services
from audience.exports import csv_lines, recipient_rows
from audience.importer import ImportFileError
from audience.models import JobStatus, Recipient
from audience.tests.helpers import import_csv, start, upload

pytestmark = pytest.mark.django_db


def emails(workspace) -> list[str]:
    return sorted(Recipient.objects.filter(workspace=workspace).values_list("email", flat=True))


# --- 1. A cell longer than the csv module's field limit --------------------------------------


def test_an_oversized_cell_rejects_its_row_and_the_import_goes_on(workspace, editor_client):
    huge = "y" * 200_000
    content = (
        "email,first_name,note\n"
        "a@example.com,Ann,short\n"
        f'b@example.com,Bob,"{huge}"\n'
        "c@example.com,Cy,short\n"
    )
    job = import_csv(workspace, content, mapping=["email", "first_name", ""])
    assert job.status == JobStatus.DONE, job.error
    assert emails(workspace) == ["a@example.com", "c@example.com"]
    [rejection] = job.rejections.all()
    assert (rejection.line, rejection.email) == (3, "b@example.com")
    assert "note" in rejection.reason
    assert "200,000 characters" in rejection.reason
    page = editor_client.get(reverse("audience:job_detail", kwargs={"job_id": job.pk}))
    assert "every row was usable" not in page.content.decode()
    assert "200,000 characters" in page.content.decode()


@pytest.mark.parametrize("where", ["first_name", "email"])
def test_a_zero_byte_past_the_first_block_rejects_its_row_and_the_import_goes_on(
    workspace, editor_client, settings, where
):
    """PostgreSQL failed the batch and every row after it; SQLite stored the NUL."""
    settings.AUDIENCE_BATCH_SIZE = 1000
    # Past the first 64 KB, which is refused whole for a NUL at upload.
    before = "".join(f"p{i}@example.com,Name{i}\n" for i in range(4000))
    bad = "bad@example.com,Ni\x00ck\n" if where == "first_name" else "b\x00ad@example.com,Nick\n"
    content = f"email,first_name\n{before}{bad}after@example.com,After\n"
    job = import_csv(workspace, content)
    assert job.status == JobStatus.DONE, job.error
    assert (job.imported, job.rejected) == (4001, 1)
    assert Recipient.objects.filter(workspace=workspace).count() == 4001
    assert Recipient.objects.filter(email="after@example.com").exists()
    [rejection] = job.rejections.all()
    assert (rejection.line, rejection.email) == (4002, "bad@example.com")
    assert f"Column “{where}” holds a NUL character" in rejection.reason
    page = editor_client.get(reverse("audience:job_detail", kwargs={"job_id": job.pk}))
    assert "holds a NUL character" in page.content.decode()


def test_an_unclosed_quote_is_one_rejected_row_that_names_its_lines(workspace):
    rows = "".join(f"p{i}@example.com,P{i}\n" for i in range(10_000))
    content = f'email,first_name\nz@example.com,Zoe\na@example.com,"Ann\n{rows}'
    job = import_csv(workspace, content)
    assert job.status == JobStatus.DONE, job.error
    assert emails(workspace) == ["z@example.com"]
    [rejection] = job.rejections.all()
    assert (rejection.line, rejection.email) == (3, "a@example.com")
    assert "lines 3 to 10,00" in rejection.reason
    assert "double quote" in rejection.reason


# --- 2. Encoding judged on the whole file, and chosen by the user -----------------------------


@pytest.mark.parametrize(
    ("encoding", "name"), [("cp1251", "Иван Петров"), ("latin-1", "José Núñez")]
)
def test_non_ascii_bytes_after_the_first_block_are_decoded(workspace, encoding, name):
    ascii_rows = "".join(f"p{i}@example.com,Person {i}\n" for i in range(4000))
    content = f"email,first_name\n{ascii_rows}late@example.com,{name}\nlast@example.com,L\n"
    data = content.encode(encoding)
    assert data.index(name.encode(encoding)) > 64 * 1024
    job = import_csv(workspace, data)
    assert job.status == JobStatus.DONE, job.error
    assert (job.imported, job.rejected) == (4002, 0)
    assert Recipient.objects.get(email="late@example.com").first_name == name


def test_a_utf8_file_with_one_stray_byte_is_refused_with_its_line(workspace):
    rows = "".join(f"p{i}@example.com,Zoë {i}\n" for i in range(4000)).encode()
    data = b"email,first_name\n" + rows + b"bad@example.com,Jos\xe9\nlast@example.com,L\n"
    with pytest.raises(ImportFileError, match="except line 4,002"):
        upload(workspace, data)
    assert not Recipient.objects.exists()


SEMICOLONS = "email;name, given;city\na@example.com;Ann;Paris\nb@example.com;Bob;Lyon\n"


def test_the_api_takes_the_delimiter_and_the_encoding(workspace, api_for):
    client = api_for("editor")
    data = SEMICOLONS.replace("Paris", "Zürich").encode("cp1252")
    response = client.post(
        "/api/imports/",
        {
            "file": SimpleUploadedFile("people.csv", data, "text/csv"),
            "delimiter": ";",
            "encoding": "cp1252",
            "start": "false",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["header"] == ["email", "name, given", "city"]
    wrong = client.post(
        "/api/imports/",
        {"file": SimpleUploadedFile("p.csv", data, "text/csv"), "encoding": "utf-8"},
        format="multipart",
    )
    assert wrong.status_code == 400
    assert "line 2" in wrong.content.decode()
    assert "utf-8" in wrong.content.decode()
    odd = client.post(
        "/api/imports/",
        {"file": SimpleUploadedFile("p.csv", data, "text/csv"), "delimiter": "::"},
        format="multipart",
    )
    assert odd.status_code == 400


def test_the_import_form_takes_the_delimiter_and_the_encoding(workspace, editor_client):
    url = reverse("audience:import")
    assert 'name="delimiter"' in editor_client.get(url).content.decode()
    data = SEMICOLONS.encode()
    response = editor_client.post(
        url,
        {
            "file": SimpleUploadedFile("people.csv", data, "text/csv"),
            "delimiter": ";",
            "encoding": "utf-8",
        },
    )
    assert response.status_code == 302
    job = workspace.audience_jobs.get()
    assert job.params["header"] == ["email", "name, given", "city"]
    start(job, ["email", "first_name", "city"])
    assert jobs.run_next_job()
    assert Recipient.objects.get(email="b@example.com").city == "Lyon"


# --- 3. Export, then import again ---------------------------------------------------------------


def test_an_exported_file_imported_again_in_update_mode_changes_nothing(workspace):
    services.custom_field_create(workspace=workspace, key="score", label="Score", type="number")
    services.custom_field_create(workspace=workspace, key="note", label="Note", type="text")
    tricky = [
        ("=1+2@example.com", {"first_name": "=SUM(A1)", "company": "+49 30 1234"}, -5, "'=x"),
        ("plain@example.com", {"last_name": "-dash", "city": "@home"}, 3.5, "'quoted"),
        ("q@example.com", {"first_name": "'+already", "country": "''=two"}, 0, "@at"),
    ]
    for email, values, score, note in tricky:
        services.recipient_create(
            workspace=workspace, email=email, values=values, fields={"score": score, "note": note}
        )
    before = list(Recipient.objects.order_by("email").values())
    keys = ["free_field1", "free_field2", "free_field3", "note", "score"]
    keys = [k for k in keys if workspace.custom_fields.filter(key=k).exists()]
    exported = "".join(csv_lines(recipient_rows(Recipient.objects.all(), keys)))
    assert "'=SUM(A1)" in exported, "the export still neutralises formulas"
    job = import_csv(workspace, exported.encode(), mode="update")
    assert job.status == JobStatus.DONE, job.error
    assert (job.imported, job.updated, job.rejected) == (0, 0, 0), list(job.rejections.all())
    assert list(Recipient.objects.order_by("email").values()) == before


# --- 4. The report: duplicates, extra cells, unchanged rows -------------------------------------


def test_duplicates_in_the_file_are_listed_with_their_lines(workspace, settings, api_for):
    settings.AUDIENCE_BATCH_SIZE = 3  # lines 2-4, 5-7, then 8
    content = "email\na@example.com\nb@example.com\nA@example.com\n"
    content += "c@example.com\nb@example.com\nd@example.com\nb@example.com\n"
    job = import_csv(workspace, content)
    assert (job.imported, job.duplicates) == (4, 3)
    body = api_for("editor").get(f"/api/imports/{job.pk}/").json()
    assert [(d["line"], d["email"]) for d in body["duplicate_rows"]] == [
        (4, "a@example.com"),
        (6, "b@example.com"),
        (8, "b@example.com"),
    ]
    assert "on line 2 " in body["duplicate_rows"][0]["reason"]  # the same batch
    assert "on line 3 " in body["duplicate_rows"][1]["reason"]  # the batch before
    assert "earlier line" in body["duplicate_rows"][2]["reason"]  # found stored by this job
    assert body["rejected_rows"] == []


def test_the_duplicate_list_is_bounded(workspace, settings):
    settings.AUDIENCE_DUPLICATES_LISTED = 3
    content = "email\n" + "a@example.com\n" * 10
    job = import_csv(workspace, content)
    assert job.duplicates == 9
    assert job.rejections.count() == 3


def test_a_row_with_extra_cells_is_reported_with_its_address(workspace, editor_client):
    content = "email,first_name,city\na@example.com,Ann,Paris,France,EU\nb@example.com,Bob,Lyon\n"
    job = import_csv(workspace, content)
    [rejection] = job.rejections.all()
    assert (rejection.line, rejection.email) == (2, "a@example.com")
    assert "5 cells, header has 3" in rejection.reason
    page = editor_client.get(reverse("audience:job_detail", kwargs={"job_id": job.pk}))
    assert "5 cells, header has 3" in page.content.decode()


def test_an_identical_import_in_update_mode_writes_nothing(workspace):
    content = "email,first_name,free_field1\na@example.com,Ann,x\nb@example.com,Bob,y\n"
    import_csv(workspace, content)
    past = timezone.now() - timedelta(days=1)
    Recipient.objects.update(updated_at=past)
    job = import_csv(workspace, content.replace("Bob", "Robert"), mode="update")
    assert (job.imported, job.updated, job.unchanged) == (0, 1, 1)
    a, b = Recipient.objects.order_by("email")
    assert a.updated_at == past
    assert (b.first_name, b.updated_at > past) == ("Robert", True)


def test_the_old_upload_helper_still_reads_files_without_choices(workspace):
    job = upload(workspace, "email;name\na@example.com;Ann\n")
    assert (job.params["delimiter"], job.params["encoding"]) == (";", "utf-8")


def test_utf16_chosen_for_a_file_without_a_byte_order_mark_is_refused_clearly(workspace, api_for):
    """UTF-16's decoder raises a plain UnicodeError (not a decode error) without a BOM."""
    response = api_for("editor").post(
        "/api/imports/",
        {
            "file": SimpleUploadedFile("p.csv", SEMICOLONS.encode("utf-8"), "text/csv"),
            "encoding": "utf-16",
        },
        format="multipart",
    )
    assert response.status_code == 400, response.content
    assert "line 1" in response.content.decode()
