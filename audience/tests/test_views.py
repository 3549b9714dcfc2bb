"""The audience pages through HTTP: roles, import flow, bulk actions, export, privacy."""

from __future__ import annotations

import codecs
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audience import jobs
from audience.models import (
    AudienceJob,
    JobStatus,
    ListMembership,
    Recipient,
    RecipientList,
    RecipientStatus,
    Segment,
    Suppression,
)
from audience.tests.factories import RecipientFactory, RecipientListFactory, SegmentFactory
from audience.tests.helpers import HEADER

PAGES = [
    "audience:index",
    "audience:recipient_create",
    "audience:import",
    "audience:lists",
    "audience:segments",
    "audience:segment_create",
    "audience:fields",
    "audience:suppression",
    "audience:export",
]


@pytest.mark.parametrize("name", PAGES)
def test_viewers_see_every_page(viewer_client, workspace, name):
    RecipientFactory.create(workspace=workspace, email="seen@example.com")
    response = viewer_client.get(reverse(name))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("audience:recipient_create", {"email": "x@example.com", "status": "active"}),
        ("audience:lists", {"name": "L"}),
        ("audience:fields", {"key": "k", "type": "text"}),
        ("audience:suppression", {"email": "x@example.com", "reason": "manual"}),
        ("audience:bulk", {"action": "delete", "scope": "all"}),
    ],
)
def test_viewers_change_nothing(viewer_client, workspace, name, data):
    RecipientFactory.create(workspace=workspace, email="keep@example.com")
    assert viewer_client.post(reverse(name), data).status_code == 403
    assert Recipient.objects.filter(email="keep@example.com").exists()
    assert not RecipientList.objects.exists()
    assert not Suppression.objects.exists()


def test_an_editor_creates_and_edits_a_recipient(editor_client, workspace):
    response = editor_client.post(
        reverse("audience:recipient_create"),
        {
            "email": " Ann@Example.com ",
            "first_name": "Ann",
            "status": "active",
            "field_free_field1": "x",
        },
    )
    assert response.status_code == 302
    ann = Recipient.objects.get(workspace=workspace)
    assert (ann.email, ann.fields) == ("ann@example.com", {"free_field1": "x"})
    url = reverse("audience:recipient_detail", kwargs={"recipient_id": ann.pk})
    editor_client.post(url, {"email": "ann@example.com", "city": "Oslo", "status": "bounced"})
    ann.refresh_from_db()
    assert (ann.city, ann.status) == ("Oslo", "bounced")


def test_a_duplicate_or_invalid_email_is_shown_on_the_form(editor_client, workspace):
    RecipientFactory.create(workspace=workspace, email="ann@example.com")
    url = reverse("audience:recipient_create")
    dup = editor_client.post(url, {"email": "ANN@example.com", "status": "active"})
    assert "already a recipient" in dup.content.decode()
    bad = editor_client.post(url, {"email": "ann@", "status": "active"})
    assert "after the @-sign" in bad.content.decode()
    assert Recipient.objects.count() == 1


def test_the_import_flow_upload_map_run_report(editor_client, workspace):
    content = f"{HEADER}\nJohn,Doe,Acme,john@example.com,USA,NY,VIP,,\nBad,,,broken,,,,,\n"
    upload = SimpleUploadedFile("people.csv", content.encode(), "text/csv")
    response = editor_client.post(reverse("audience:import"), {"file": upload})
    job = AudienceJob.objects.get()
    assert response.url == reverse("audience:job_detail", kwargs={"job_id": job.pk})
    page = editor_client.get(response.url).content.decode()
    assert "john@example.com" in page, "the preview shows the first rows"
    # The standard columns keep their names as targets; free_field1 is picked by hand.
    mapping = {f"col_{i}": t for i, t in enumerate(job.params["header"][:6])}
    mapping.update({"col_6": "field:free_field1", "col_7": "", "col_8": "", "mode": "add"})
    editor_client.post(response.url, mapping)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert jobs.run_next_job()
    report = editor_client.get(response.url).content.decode()
    assert "Invalid e-mail address" in report
    rejected = editor_client.get(reverse("audience:job_rejections", kwargs={"job_id": job.pk}))
    lines = b"".join(rejected.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "line,email,reason"
    assert lines[1].startswith("3,broken,Invalid e-mail address")


def test_an_unreadable_upload_says_why(editor_client, workspace):
    upload = SimpleUploadedFile("x.csv", b"", "text/csv")
    response = editor_client.post(reverse("audience:import"), {"file": upload})
    assert response.status_code == 200
    assert "The file is empty" in response.content.decode()
    assert not AudienceJob.objects.exists()


def test_progress_is_polled_until_the_job_ends(editor_client, workspace):
    job = AudienceJob.objects.create(workspace=workspace, kind="bulk", total=10, processed=5)
    url = reverse("audience:job_progress", kwargs={"job_id": job.pk})
    running = editor_client.get(url, headers={"HX-Request": "true"})
    assert "every 1s" in running.content.decode()
    job.status = JobStatus.DONE
    job.save()
    done = editor_client.get(url, headers={"HX-Request": "true"})
    assert done["HX-Refresh"] == "true"


def test_bulk_actions_on_selected_rows_run_at_once(editor_client, workspace):
    rows = [
        RecipientFactory.create(workspace=workspace, email=f"p{i}@example.com") for i in range(3)
    ]
    target = RecipientListFactory.create(workspace=workspace, name="L")
    ids = [rows[0].pk, rows[1].pk]
    data = {"scope": "selected", "ids": ids, "target_list": target.pk}
    editor_client.post(reverse("audience:bulk"), {**data, "action": "add_to_list"})
    assert ListMembership.objects.filter(recipient_list=target).count() == 2
    editor_client.post(reverse("audience:bulk"), {**data, "action": "unsubscribe"})
    assert set(Suppression.objects.values_list("email", flat=True)) == {
        "p0@example.com",
        "p1@example.com",
    }
    assert Recipient.objects.filter(status=RecipientStatus.UNSUBSCRIBED).count() == 2
    editor_client.post(reverse("audience:bulk"), {**data, "action": "remove_from_list"})
    assert not ListMembership.objects.exists()
    editor_client.post(reverse("audience:bulk"), {**data, "action": "delete", "confirmed": "yes"})
    assert list(Recipient.objects.values_list("email", flat=True)) == ["p2@example.com"]


def test_bulk_actions_over_many_become_a_job_with_progress(editor_client, workspace, settings):
    settings.AUDIENCE_BULK_INLINE_MAX = 5
    settings.AUDIENCE_BATCH_SIZE = 4
    Recipient.objects.bulk_create(
        [Recipient(workspace=workspace, email=f"p{i}@example.com", city="Oslo") for i in range(12)]
        + [Recipient(workspace=workspace, email="keep@example.com", city="Rome")]
    )
    response = editor_client.post(
        reverse("audience:bulk"),
        {"scope": "all", "action": "unsubscribe", "field": "city", "op": "equals", "value": "oslo"},
    )
    job = AudienceJob.objects.get(kind="bulk")
    assert response.url == reverse("audience:job_detail", kwargs={"job_id": job.pk})
    assert job.total == 12
    assert jobs.run_next_job()
    job.refresh_from_db()
    assert (job.status, job.processed) == (JobStatus.DONE, 12)
    assert Recipient.objects.filter(status="unsubscribed").count() == 12
    assert Recipient.objects.get(email="keep@example.com").status == "active"


def test_the_table_filters_by_segment_and_search(viewer_client, workspace):
    RecipientFactory.create(workspace=workspace, email="uk@example.com", country="UK")
    RecipientFactory.create(workspace=workspace, email="us@example.com", country="USA")
    segment = SegmentFactory.create(
        workspace=workspace,
        name="UK",
        definition={"conditions": [{"field": "country", "op": "equals", "value": "UK"}]},
    )
    page = viewer_client.get(reverse("audience:index"), {"segment": segment.pk}).content.decode()
    assert "uk@example.com" in page
    assert "us@example.com" not in page
    page = viewer_client.get(reverse("audience:index"), {"q": "us@"}).content.decode()
    assert "us@example.com" in page
    assert "uk@example.com" not in page


def test_saving_a_segment_and_its_live_count(editor_client, workspace):
    RecipientFactory.create(workspace=workspace, email="uk@example.com", country="UK")
    count = editor_client.get(
        reverse("audience:segment_count"),
        {"match": "all", "cond_field": ["country"], "cond_op": ["equals"], "cond_value": ["uk"]},
    )
    assert 'data-segment-count="1"' in count.content.decode()
    response = editor_client.post(
        reverse("audience:segment_create"),
        {
            "name": "UK",
            "match": "all",
            "cond_field": "country",
            "cond_op": "equals",
            "cond_value": "uk",
        },
    )
    assert response.status_code == 302
    assert Segment.objects.get().definition["conditions"][0]["value"] == "uk"


def test_export_streams_and_neutralises_formulas(viewer_client, workspace):
    RecipientFactory.create(
        workspace=workspace,
        email="a@example.com",
        first_name="=HYPERLINK(1)",
        company="+1",
        city="@x",
        fields={"free_field1": "-2"},
    )
    response = viewer_client.get(reverse("audience:export"), {"download": "1"})
    data = b"".join(response.streaming_content)
    # A BOM first: spreadsheet programs then read Cyrillic and accents as UTF-8.
    assert data.startswith(codecs.BOM_UTF8)
    text = data.decode("utf-8-sig")
    header, row = text.splitlines()
    assert header.startswith("email,first_name,last_name,company")
    assert "'=HYPERLINK(1)" in row
    assert ",'+1," in row
    assert ",'@x," in row
    assert ",'-2," in row


def test_only_owners_remove_suppressions(owner_client, editor_client, workspace):
    editor_client.post(
        reverse("audience:suppression"), {"email": "b@example.com", "reason": "manual"}
    )
    entry = Suppression.objects.get()
    url = reverse("audience:suppression_delete", kwargs={"suppression_id": entry.pk})
    assert editor_client.post(url).status_code == 403
    assert owner_client.post(url, {"confirmed": "yes"}).status_code == 302
    assert not Suppression.objects.exists()


def test_suppression_csv_import(editor_client, workspace):
    upload = SimpleUploadedFile("s.csv", b"email\na@example.com\nbad\n", "text/csv")
    editor_client.post(reverse("audience:suppression_import"), {"file": upload})
    assert list(Suppression.objects.values_list("email", flat=True)) == ["a@example.com"]


def test_privacy_export_and_erasure(editor_client, workspace):
    ann = RecipientFactory.create(workspace=workspace, email="ann@example.com", city="Oslo")
    RecipientListFactory.create(workspace=workspace, name="L", members=[ann])
    data = json.loads(
        editor_client.get(
            reverse("audience:recipient_data", kwargs={"recipient_id": ann.pk})
        ).content
    )
    assert (data["email"], data["city"], data["lists"][0]["name"]) == (
        "ann@example.com",
        "Oslo",
        "L",
    )
    url = reverse("audience:recipient_erase", kwargs={"recipient_id": ann.pk})
    editor_client.post(url, {"keep_blocked": "on"})
    assert not Recipient.objects.exists()
    assert not ListMembership.objects.exists()
    assert Suppression.objects.get().email == "ann@example.com"


def test_erasure_without_keeping_the_address_leaves_no_trace(editor_client, workspace):
    ann = RecipientFactory.create(workspace=workspace, email="ann@example.com")
    Suppression.objects.create(workspace=workspace, email="ann@example.com", reason="bounced")
    editor_client.post(reverse("audience:recipient_erase", kwargs={"recipient_id": ann.pk}))
    assert not Recipient.objects.exists()
    assert not Suppression.objects.exists()


def test_custom_fields_and_lists_are_managed(editor_client, workspace):
    editor_client.post(
        reverse("audience:fields"), {"key": "plan", "type": "choice", "choices": "a, b"}
    )
    editor_client.post(reverse("audience:lists"), {"name": "VIPs"})
    assert workspace.custom_fields.get(key="plan").choices == ["a", "b"]
    assert RecipientList.objects.get().name == "VIPs"
    bad = editor_client.post(reverse("audience:fields"), {"key": "email", "type": "text"})
    assert "standard field" in bad.content.decode()


def test_a_too_large_upload_is_refused_before_it_is_read(editor_client, workspace, settings):
    settings.AUDIENCE_IMPORT_MAX_BYTES = 100
    big = SimpleUploadedFile("big.csv", b"email\n" + b"a@example.com\n" * 10_000, "text/csv")
    response = editor_client.post(reverse("audience:import"), {"file": big})
    assert response.status_code == 413
    assert "larger than 0 MB" in response.content.decode()
    assert not AudienceJob.objects.exists()


def test_a_mapping_without_an_email_column_is_refused_and_kept(editor_client, workspace):
    upload = SimpleUploadedFile("x.csv", b"name,town\nJohn,Paris\n", "text/csv")
    response = editor_client.post(reverse("audience:import"), {"file": upload})
    page = editor_client.get(response.url).content.decode()
    assert "No column is named like an e-mail address column" in page
    editor_client.post(response.url, {"col_0": "first_name", "col_1": "city", "mode": "add"})
    again = editor_client.get(response.url).content.decode()
    assert "Choose the column that holds the e-mail addresses" in again
    assert AudienceJob.objects.get().status == JobStatus.DRAFT
    assert not Recipient.objects.exists()


def test_export_a_list_or_a_segment(viewer_client, workspace):
    inside = RecipientFactory.create(workspace=workspace, email="in@example.com", country="UK")
    RecipientFactory.create(workspace=workspace, email="out@example.com", country="USA")
    target = RecipientListFactory.create(workspace=workspace, name="L", members=[inside])
    segment = SegmentFactory.create(
        workspace=workspace,
        name="UK",
        definition={"conditions": [{"field": "country", "op": "equals", "value": "UK"}]},
    )
    for query in ({"list": target.pk}, {"segment": segment.pk}):
        response = viewer_client.get(reverse("audience:export"), {"download": "1", **query})
        rows = b"".join(response.streaming_content).decode().splitlines()[1:]
        assert [r.split(",")[0] for r in rows] == ["in@example.com"], query


def test_a_running_bulk_job_can_be_cancelled(editor_client, workspace):
    job = AudienceJob.objects.create(workspace=workspace, kind="bulk", status=JobStatus.QUEUED)
    editor_client.post(reverse("audience:job_cancel", kwargs={"job_id": job.pk}))
    job.refresh_from_db()
    assert (job.status, job.cancel_requested) == (JobStatus.CANCELLED, True)
    assert not jobs.run_next_job()


def test_the_filtered_table_leads_to_a_campaign_for_those_recipients(personas, editor_client):
    person = RecipientFactory.create(workspace=personas.workspace, email="vip@example.test")
    people = RecipientListFactory.create(workspace=personas.workspace, name="VIP", members=[person])
    page = editor_client.get(reverse("audience:index"), {"list": people.pk}).content.decode()
    link = f"{reverse('campaigns:create')}?list={people.pk}"
    assert link in page
    assert editor_client.get(link).status_code == 200
    unfiltered = editor_client.get(reverse("audience:index")).content.decode()
    assert "New campaign with these" not in unfiltered
