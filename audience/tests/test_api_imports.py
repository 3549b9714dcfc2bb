from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audience import jobs, services
from audience.models import AudienceJob, JobStatus, Recipient
from audience.tests.api_helpers import error_of, field_messages, jwt_client, streamed_text

pytestmark = pytest.mark.django_db

CSV = (
    "E-mail,Name,Age,Shoe size\n"
    "ada@example.com,Ada,41,38\n"
    "not-an-address,Bob,30,44\n"
    "cy@example.com,Cy,old,40\n"
    "old@example.com,Renamed,50,39\n"
)


def csv_file(text: str = CSV, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), "text/csv")


@pytest.fixture
def age(workspace):
    services.custom_field_create(workspace=workspace, key="age", label="Age", type="number")
    services.recipient_create(
        workspace=workspace, email="old@example.com", values={"first_name": "Old"}, fields={}
    )
    return workspace


def test_an_import_with_a_malformed_row_runs_and_reports_it(age, personas):
    friends = services.list_create(workspace=age, name="Friends")
    api = jwt_client(personas.editor)
    response = api.post(
        "/api/imports/",
        {
            "file": csv_file(),
            "mapping": json.dumps(
                {
                    "E-mail": "email",
                    "Name": "first_name",
                    "Age": "field:age",
                    "Shoe size": "new:shoe",
                }
            ),
            "new_fields": json.dumps({"shoe": "number"}),
            "list_id": friends.pk,
            "update_existing": "true",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "queued"
    assert job["mapping"] == ["email", "first_name", "field:age", "field:shoe"]
    assert (job["mode"], job["list_id"]) == ("update", friends.pk)

    assert jobs.run_next_job()  # the worker's step, as in production

    report = api.get(f"/api/imports/{job['id']}/").json()
    assert report["status"] == "done"
    assert report["percent"] == 100
    assert (report["imported"], report["updated"], report["rejected"]) == (1, 1, 2)
    assert [(r["line"], r["email"]) for r in report["rejected_rows"]] == [
        (3, "not-an-address"),
        (4, "cy@example.com"),
    ]
    assert "not a number" in report["rejected_rows"][1]["reason"]
    ada = Recipient.objects.get(workspace=age, email="ada@example.com")
    assert ada.fields == {"age": 41, "shoe": 38}
    assert Recipient.objects.get(email="old@example.com").first_name == "Renamed"
    assert set(friends.recipients.values_list("email", flat=True)) == {
        "ada@example.com",
        "old@example.com",
    }

    lines = streamed_text(api.get(report["rejections_url"])).splitlines()
    assert lines[0] == "line,email,reason"
    assert lines[1].startswith("3,not-an-address,")
    assert len(lines) == 3
    listed = api.get("/api/imports/").json()
    assert [j["id"] for j in listed["results"]] == [job["id"]]
    assert listed["count"] == 1


def test_a_draft_shows_its_columns_and_starts_with_a_mapping(age, api_for):
    api = api_for("editor")
    draft = api.post("/api/imports/", {"file": csv_file(), "start": "false"}, format="multipart")
    assert draft.status_code == 201, draft.content
    job = draft.json()
    assert job["status"] == "draft"
    assert job["header"] == ["E-mail", "Name", "Age", "Shoe size"]
    assert job["preview"][0] == ["ada@example.com", "Ada", "41", "38"]
    assert job["mapping"] == ["email", "first_name", "field:age", ""]  # proposed by name
    assert not jobs.run_next_job()  # a draft is not run

    bad = api.post(f"/api/imports/{job['id']}/start/", {"mapping": ["email"]}, format="json")
    assert field_messages(bad, "mapping")
    unknown = api.post(
        f"/api/imports/{job['id']}/start/",
        {"mapping": ["email", "first_name", "field:nope", ""]},
        format="json",
    )
    assert "field:nope" in field_messages(unknown, "mapping")
    started = api.post(
        f"/api/imports/{job['id']}/start/", {"email_column": "E-mail"}, format="json"
    )
    assert started.json()["status"] == "queued"
    again = api.post(f"/api/imports/{job['id']}/start/", {}, format="json")
    assert "started already" in field_messages(again, "status")
    assert jobs.run_next_job()
    done = AudienceJob.objects.get(pk=job["id"])
    assert (done.status, done.imported, done.rejected) == (JobStatus.DONE, 1, 2)


def test_a_file_that_cannot_be_imported_is_a_400_and_leaves_nothing(age, api_for, settings):
    api = api_for("editor")
    empty = api.post("/api/imports/", {"file": csv_file("")}, format="multipart")
    assert "empty" in field_messages(empty, "file")
    no_email = api.post(
        "/api/imports/",
        {"file": csv_file("name,city\nAda,Paris\n"), "start": "true"},
        format="multipart",
    )
    assert "e-mail" in field_messages(no_email, "non_field_errors")
    assert not AudienceJob.objects.exclude(status=JobStatus.CANCELLED).exists()
    assert not list((settings.MEDIA_ROOT / "imports").rglob("*.csv"))
    missing = api.post("/api/imports/", {}, format="multipart")
    assert field_messages(missing, "file")
    settings.AUDIENCE_IMPORT_MAX_BYTES = 10
    big = csv_file("email\n" + "a@example.com\n" * 9000)
    huge = api.post("/api/imports/", {"file": big}, format="multipart")
    assert "larger than" in error_of(huge, 413)["message"]


def test_an_import_is_cancelled_before_it_runs(age, api_for):
    api = api_for("editor")
    job = api.post("/api/imports/", {"file": csv_file()}, format="multipart").json()
    assert error_of(api_for("viewer").post(f"/api/imports/{job['id']}/cancel/"), 403)
    cancelled = api.post(f"/api/imports/{job['id']}/cancel/")
    assert cancelled.json()["status"] == "cancelled"
    assert not jobs.run_next_job()
    assert not Recipient.objects.filter(email="ada@example.com").exists()


def test_a_viewer_reads_imports_but_cannot_upload(age, api_for):
    denied = api_for("viewer").post("/api/imports/", {"file": csv_file()}, format="multipart")
    assert error_of(denied, 403)["code"] == "permission_denied"
    assert not AudienceJob.objects.exists()
    assert api_for("viewer").get("/api/imports/").status_code == 200


def test_a_new_field_named_in_cyrillic_gets_the_key_the_import_page_would_offer(age, personas):
    """`new:тариф` by API makes the field `tarif`, as the page does; a name with no letter or
    digit is a 400 that names it, and nothing is created or queued."""
    api = jwt_client(personas.editor)
    text = "E-mail,Тариф\nada@example.com,Gold\n"
    response = api.post(
        "/api/imports/",
        {
            "file": csv_file(text),
            "mapping": json.dumps({"E-mail": "email", "Тариф": "new:Тариф"}),
            "new_fields": json.dumps({"Тариф": "text"}),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["mapping"] == ["email", "field:tarif"]
    assert jobs.run_next_job()
    assert Recipient.objects.get(email="ada@example.com").fields == {"tarif": "Gold"}

    refused = api.post(
        "/api/imports/",
        {"file": csv_file(text), "mapping": json.dumps({"E-mail": "email", "Тариф": "new:!!"})},
        format="multipart",
    )
    assert refused.status_code == 400
    assert "“!!” cannot be a field key" in refused.content.decode()
    assert not AudienceJob.objects.filter(status=JobStatus.QUEUED).exists()
