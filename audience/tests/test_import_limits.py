"""Imports keep what was mapped, values have a length limit, and uploads do not pile up."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audience import jobs, services
from audience.housekeeping import purge_abandoned_uploads
from audience.importer import ImportFileError, column_key, slug_for
from audience.models import (
    VALUE_MAX_CHARS,
    AudienceJob,
    CustomField,
    JobStatus,
    Recipient,
)
from audience.tests.helpers import import_csv, upload
from postroom import housekeeping

# --- A Cyrillic header in Windows-1251, mapped to a new custom field ------------------------

CP1251 = "email;тариф;Имя\nann@example.com;Премиум;Анна\nbob@example.com;Базовый;Борис\n"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("тариф", "tarif"),
        ("Дата рождения", "data_rozhdeniya"),
        ("Щёлково", "shchelkovo"),
        ("Prénom", "prenom"),
        ("Straße", "strasse"),
        ("2024 total", "f_2024_total"),
        ("电话", ""),
    ],
)
def test_keys_are_offered_in_latin_letters(name, key):
    assert slug_for(name) == key


def test_a_column_without_latin_letters_still_gets_a_key():
    assert column_key("电话", 2) == "column_3"
    assert column_key("тариф", 2) == "tarif"


def test_a_cyrillic_column_mapped_to_a_new_field_is_imported(editor_client, workspace):
    file = SimpleUploadedFile("tariffs.csv", CP1251.encode("cp1251"), "text/csv")
    response = editor_client.post(reverse("audience:import"), {"file": file})
    job = AudienceJob.objects.get()
    assert job.params["header"] == ["email", "тариф", "Имя"]
    page = editor_client.get(response.url).content.decode()
    assert 'name="new_key_1" value="tarif"' in page, "a key is offered for the column"
    # The form as the browser sends it: "New custom field…" with the offered key.
    editor_client.post(
        response.url,
        {
            "col_0": "email",
            "col_1": "new",
            "new_key_1": "tarif",
            "new_type_1": "text",
            "col_2": "first_name",
            "mode": "add",
        },
    )
    assert jobs.run_next_job()
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert CustomField.objects.filter(workspace=workspace, key="tarif").exists()
    ann = Recipient.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.fields["tarif"]) == ("Анна", "Премиум")


def test_a_new_field_chosen_without_a_usable_key_is_not_dropped(editor_client, workspace):
    content = "email,电话\nann@example.com,12345\n"
    file = SimpleUploadedFile("phones.csv", content.encode(), "text/csv")
    response = editor_client.post(reverse("audience:import"), {"file": file})
    # The key box was emptied or holds only letters a key cannot have: the column's own key.
    editor_client.post(
        response.url, {"col_0": "email", "col_1": "new", "new_key_1": "电", "mode": "add"}
    )
    assert jobs.run_next_job()
    assert Recipient.objects.get().fields == {"column_2": "12345"}


def test_a_new_field_with_a_refused_key_stops_the_import_with_a_message(editor_client, workspace):
    content = "email,Surname\nann@example.com,Lee\n"
    file = SimpleUploadedFile("people.csv", content.encode(), "text/csv")
    response = editor_client.post(reverse("audience:import"), {"file": file})
    answer = editor_client.post(
        response.url,
        {"col_0": "email", "col_1": "new", "new_key_1": "email", "mode": "add"},
        follow=True,
    )
    assert "standard field" in answer.content.decode()
    assert AudienceJob.objects.get().status == JobStatus.DRAFT


# --- Value lengths ---------------------------------------------------------------------------


def test_long_comments_and_custom_values_are_rejected_rows_not_kept(workspace):
    long = "x" * (VALUE_MAX_CHARS + 1)
    content = (
        "email,comment,free_field1\n"
        f"ok@example.com,{'y' * VALUE_MAX_CHARS},fine\n"
        f"comment@example.com,{long},\n"
        f"custom@example.com,,{long}\n"
    )
    job = import_csv(workspace, content)
    assert list(Recipient.objects.values_list("email", flat=True)) == ["ok@example.com"]
    assert [r.reason for r in job.rejections.all()] == [
        f"comment is longer than {VALUE_MAX_CHARS:,} characters.",
        f"free_field1: longer than {VALUE_MAX_CHARS:,} characters",
    ]


def test_the_api_and_the_form_refuse_long_values(workspace, api_for, editor_client):
    long = "x" * (VALUE_MAX_CHARS + 1)
    client = api_for("editor")
    comment = client.post(
        "/api/recipients/", {"email": "a@example.com", "comment": long}, format="json"
    )
    assert comment.status_code == 400
    custom = client.post(
        "/api/recipients/",
        {"email": "a@example.com", "fields": {"free_field1": long}},
        format="json",
    )
    assert custom.status_code == 400
    bulk = client.post(
        "/api/recipients/bulk/",
        {"recipients": [{"email": "b@example.com", "comment": long}]},
        format="json",
    )
    assert Recipient.objects.count() == 0, bulk.content
    form = editor_client.post(
        reverse("audience:recipient_create"),
        {"email": "c@example.com", "comment": long, "status": "active"},
    )
    assert form.status_code == 200
    assert not Recipient.objects.exists()


# --- Uploads waiting to be imported ----------------------------------------------------------


def _age(job: AudienceJob, hours: float) -> None:
    AudienceJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=hours))


def test_housekeeping_discards_drafts_past_the_keep_time(workspace, settings):
    settings.AUDIENCE_UPLOAD_KEEP_HOURS = 24
    old, fresh = upload(workspace, "email\na@example.com\n"), upload(workspace, "email\n")
    _age(old, 25)
    assert housekeeping.housekeeping()["import_uploads"] == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == (JobStatus.CANCELLED, JobStatus.DRAFT)
    assert not Path(old.params["path"]).exists()
    assert Path(fresh.params["path"]).exists()


def test_housekeeping_deletes_old_files_no_waiting_import_holds(workspace, settings):
    waiting = upload(workspace, "email\na@example.com\n")
    folder = services.uploads_root() / str(workspace.pk)
    stray, recent = folder / "stray.csv", folder / "recent.csv"
    stray.write_text("email\n")
    recent.write_text("email\n")
    day_ago = time.time() - 25 * 3600
    for path in (stray, Path(waiting.params["path"])):
        os.utime(path, (day_ago, day_ago))
    assert purge_abandoned_uploads(now=timezone.now()) == 1
    assert not stray.exists()
    assert recent.exists(), "it may be an upload being stored right now"
    assert Path(waiting.params["path"]).exists(), "its draft is younger than the keep time"


def test_a_workspace_holds_a_bounded_amount_of_waiting_uploads(workspace, settings, personas):
    row = "email\n" + "someone@example.com\n" * 50  # 1,026 bytes
    settings.AUDIENCE_UPLOADS_MAX_BYTES = 2500
    first, second = upload(workspace, row), upload(workspace, row)
    with pytest.raises(ImportFileError, match="already holds"):
        upload(workspace, row)
    assert AudienceJob.objects.count() == 2
    # Another workspace has its own room; and an import that ends gives the room back.
    upload(personas.other_workspace, row)
    services.job_cancel(job=first)
    upload(workspace, row)
    assert second.pk
