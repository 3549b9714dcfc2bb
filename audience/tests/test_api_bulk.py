from __future__ import annotations

import json
import time

import pytest

from audience import jobs, services
from audience.models import AudienceJob, JobStatus, ListMembership, Recipient, Suppression
from audience.tests.api_helpers import error_of, field_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def age(workspace):
    services.custom_field_create(workspace=workspace, key="age", label="Age", type="number")
    return workspace


def upsert(api, rows, **options):
    return api.post("/api/recipients/bulk/", {"recipients": rows, **options}, format="json")


def test_bulk_upsert_reports_bad_rows_and_writes_the_good_ones(age, api_for):
    services.recipient_create(
        workspace=age,
        email="old@example.com",
        values={"first_name": "Old", "company": "Acme"},
        fields={"age": 50, "free_field1": "kept"},
    )
    services.recipient_create(
        workspace=age, email="same@example.com", values={"first_name": "Same"}, fields={}
    )
    rows = [
        {"email": "New@Example.com", "first_name": "New", "fields": {"age": "30"}},
        {"email": "not an address"},
        {"email": "old@example.com", "first_name": "Renamed", "fields": {"age": 51}},
        {"email": "same@example.com", "first_name": "Same"},
        {"email": "new@example.com", "first_name": "Twice"},
        {"email": "aged@example.com", "fields": {"age": "old"}},
        {"email": "odd@example.com", "shoe": 42, "fields": {"nope": 1}},
        "just a string",
        {"email": "nul@example.com", "city": "Pa\x00ris"},
    ]
    response = upsert(api_for("editor"), rows)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (1, 1, 1)
    rejected = {r["index"]: r for r in body["rejected"]}
    assert sorted(rejected) == [1, 4, 5, 6, 7, 8]
    assert "NUL" in rejected[8]["errors"][0]
    assert "Invalid e-mail address" in rejected[1]["errors"][0]
    assert "index 0" in rejected[4]["errors"][0]
    assert rejected[5]["errors"] == ["age: 'old' is not a number"]
    assert rejected[5]["email"] == "aged@example.com"
    assert any("shoe" in e for e in rejected[6]["errors"])
    assert any("nope" in e for e in rejected[6]["errors"])
    old = Recipient.objects.get(workspace=age, email="old@example.com")
    assert (old.first_name, old.company) == ("Renamed", "Acme")  # columns not given stay
    assert old.fields == {"age": 51, "free_field1": "kept"}  # custom values are merged
    new = Recipient.objects.get(workspace=age, email="new@example.com")
    assert (new.first_name, new.fields, new.status) == ("New", {"age": 30}, "active")


def test_without_update_existing_present_recipients_stay_and_all_join_the_lists(workspace, api_for):
    services.recipient_create(
        workspace=workspace, email="old@example.com", values={"first_name": "Old"}, fields={}
    )
    friends = services.list_create(workspace=workspace, name="Friends")
    rows = [{"email": "old@example.com", "first_name": "New"}, {"email": "b@example.com"}]
    response = upsert(api_for("editor"), rows, update_existing=False, list_ids=[friends.pk])
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 1, "rejected": []}
    assert Recipient.objects.get(email="old@example.com").first_name == "Old"
    assert ListMembership.objects.filter(recipient_list=friends).count() == 2


def test_bulk_upsert_refuses_more_than_10000_rows_and_unknown_lists(personas, api_for):
    api = api_for("editor")
    rows = [{"email": f"p{n}@example.com"} for n in range(10_001)]
    message = field_messages(upsert(api, rows), "recipients")
    assert "At most 10,000 recipients per call" in message
    assert "10,001" in message
    foreign = services.list_create(workspace=personas.other_workspace, name="Theirs")
    unknown = upsert(api, [{"email": "a@example.com"}], list_ids=[foreign.pk])
    assert str(foreign.pk) in field_messages(unknown, "list_ids")
    assert not Recipient.objects.exists()


def test_a_body_past_the_parsers_limit_is_413_and_bad_json_400(personas, api_for, settings):
    settings.AUDIENCE_API_BODY_MAX_BYTES = 1000
    api = api_for("editor")
    rows = [{"email": f"p{n}@example.com"} for n in range(100)]
    assert error_of(upsert(api, rows), 413)["code"] == "too_large"
    broken = api.post("/api/recipients/bulk/", "{", content_type="application/json")
    assert error_of(broken, 400)["code"] == "parse_error"
    assert not Recipient.objects.exists()


def test_10000_rows_are_upserted_in_one_call(age, api_for, capsys):
    api = api_for("editor")
    rows = [
        {
            "email": f"person{n}@example.com",
            "first_name": f"P{n}",
            "company": "Company of a rather long name",
            "comment": "A note. " * 25,
            "fields": {"age": n % 90},
        }
        for n in range(10_000)
    ]
    # More than Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), which must not refuse the call.
    assert len(json.dumps({"recipients": rows})) > 2_621_440
    started = time.perf_counter()
    response = upsert(api, rows)
    created_in = time.perf_counter() - started
    assert response.json()["created"] == 10_000
    for row in rows[::2]:
        row["last_name"] = "Changed"
    started = time.perf_counter()
    again = upsert(api, rows).json()
    updated_in = time.perf_counter() - started
    assert (again["updated"], again["unchanged"], again["rejected"]) == (5_000, 5_000, [])
    assert Recipient.objects.filter(workspace=age, last_name="Changed").count() == 5_000
    with capsys.disabled():
        print(f"\nbulk upsert of 10,000: create {created_in:.2f}s, half updated {updated_in:.2f}s")


def test_bulk_actions_on_selected_ids_use_the_ui_services(workspace, api_for):
    people = [
        services.recipient_create(
            workspace=workspace, email=f"p{n}@example.com", values={}, fields={}
        )
        for n in range(3)
    ]
    ids = [p.pk for p in people]
    friends = services.list_create(workspace=workspace, name="Friends")
    api = api_for("editor")

    def act(body):
        return api.post("/api/recipients/bulk-action/", body, format="json")

    added = act({"action": "add_to_list", "list_id": friends.pk, "ids": ids})
    assert added.json() == {"action": "add_to_list", "count": 3, "job": None}
    assert friends.recipients.count() == 3
    act({"action": "remove_from_list", "list_id": friends.pk, "ids": ids[:1]})
    assert friends.recipients.count() == 2
    act({"action": "unsubscribe", "ids": ids[1:2]})
    assert Recipient.objects.get(pk=ids[1]).status == "unsubscribed"
    assert Suppression.objects.filter(email="p1@example.com").exists()
    act({"action": "delete", "filter": {"q": "p2@"}})
    assert not Recipient.objects.filter(pk=ids[2]).exists()
    assert field_messages(act({"action": "add_to_list", "ids": ids}), "non_field_errors")
    assert field_messages(act({"action": "delete"}), "ids")
    assert field_messages(act({"action": "explode", "ids": ids}), "action")


def test_a_bulk_action_past_the_inline_limit_becomes_a_job(workspace, api_for, settings):
    settings.AUDIENCE_BULK_INLINE_MAX = 5
    services.recipients_upsert(
        workspace=workspace,
        rows=[{"email": f"p{n}@example.com"} for n in range(8)],
        update_existing=False,
    )
    api = api_for("editor")
    response = api.post(
        "/api/recipients/bulk-action/",
        {"action": "unsubscribe", "filter": {"status": "active"}},
        format="json",
    )
    assert response.status_code == 202, response.content
    job = response.json()["job"]
    assert (response.json()["count"], job["status"], job["action"]) == (8, "queued", "unsubscribe")
    assert jobs.run_next_job()
    polled = api.get(f"/api/bulk-jobs/{job['id']}/").json()
    assert (polled["status"], polled["processed"], polled["percent"]) == ("done", 8, 100)
    assert not Recipient.objects.filter(workspace=workspace, status="active").exists()
    assert [j["id"] for j in api.get("/api/bulk-jobs/").json()["results"]] == [job["id"]]


def test_a_queued_bulk_job_can_be_cancelled(workspace, api_for, settings):
    settings.AUDIENCE_BULK_INLINE_MAX = 0
    services.recipients_upsert(
        workspace=workspace, rows=[{"email": "a@example.com"}], update_existing=False
    )
    api = api_for("editor")
    body = {"action": "delete", "filter": {}}
    job = api.post("/api/recipients/bulk-action/", body, format="json").json()["job"]
    cancelled = api.post(f"/api/bulk-jobs/{job['id']}/cancel/")
    assert cancelled.json()["status"] == "cancelled"
    assert not jobs.run_next_job()
    assert Recipient.objects.filter(workspace=workspace).count() == 1
    assert AudienceJob.objects.get(pk=job["id"]).status == JobStatus.CANCELLED
    assert error_of(api_for("viewer").post(f"/api/bulk-jobs/{job['id']}/cancel/"), 403)
