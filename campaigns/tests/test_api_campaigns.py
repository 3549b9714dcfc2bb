"""/api/campaigns/ through real API keys: the editor's rules, the state machine as 409s, the
estimate, the progress figures, and what viewers and other workspaces may not do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audience.models import RecipientStatus, Suppression
from campaigns.engine.step import Engine
from campaigns.models import Campaign, CampaignStatus, Delivery
from campaigns.services import campaigns_launch_queued
from campaigns.tests.api_setup import stage
from campaigns.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

URL = "/api/campaigns/"


def later(**delta: int) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


def send(api, campaign_id):
    """POST send/ (202, launching), then the worker's launch: the campaign runs."""
    response = api.post(f"{URL}{campaign_id}/send/")
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "launching"
    campaigns_launch_queued(now=timezone.now())
    return api.get(f"{URL}{campaign_id}/")


def create(api, body):
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_an_editor_creates_a_draft_and_reads_it_back(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("editor")
    made = create(api, s.campaign_body(picked={"ids": [s.recipients[0].pk]}))
    assert made["status"] == "draft"
    assert made["list_ids"] == [s.rlist.pk]
    assert made["account_ids"] == [s.account.pk]
    assert made["picked"]["ids"] == [s.recipients[0].pk]
    assert made["allowed_actions"] == ["send", "schedule", "cancel"]
    assert made["counts"]["queued"] == 0
    assert set(made["counts"]) >= {"sent", "failed", "not_found", "connection_error"}

    got = api.get(f"{URL}{made['id']}/").json()
    assert got["name"] == "Spring"
    assert got["template_id"] == s.template.pk
    campaign = Campaign.objects.get(pk=made["id"])
    assert campaign.created_by == personas.owner  # the key's creator


def test_every_problem_is_reported_under_its_field(personas, api_for):
    s = stage(personas.workspace)
    body: dict[str, object] = {"name": "Empty", "template_id": None, "account_ids": []}
    response = api_for("editor").post(URL, body, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["template_id"][0]["message"] == "Choose a template."
    assert "active sending account" in fields["account_ids"][0]["message"]
    assert "Choose who receives it" in fields["non_field_errors"][0]["message"]
    assert not Campaign.objects.exists()
    assert s.template.pk  # the stage exists: the refusals are the body's


def test_ids_of_another_workspace_are_refused(personas, api_for):
    s = stage(personas.workspace)
    foreign = stage(personas.other_workspace, prefix="foreign")
    body = s.campaign_body(list_ids=[foreign.rlist.pk], account_ids=[foreign.account.pk])
    response = api_for("editor").post(URL, body, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"list_ids", "account_ids"}
    body = s.campaign_body(template_id=foreign.template.pk)
    response = api_for("editor").post(URL, body, format="json")
    assert response.json()["error"]["fields"]["template_id"]


def test_a_schedule_is_checked_as_in_the_editor(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("editor")
    past = api.post(
        URL, s.campaign_body(schedule_mode="at", send_at=later(hours=-1)), format="json"
    )
    assert past.json()["error"]["fields"]["send_at"][0]["message"] == "This time is in the past."
    backwards = s.campaign_body(
        schedule_mode="window", window_start=later(hours=2), window_end=later(hours=1)
    )
    response = api.post(URL, backwards, format="json")
    assert (
        "must end after it starts" in response.json()["error"]["fields"]["window_end"][0]["message"]
    )
    window = s.campaign_body(
        schedule_mode="window", window_start=later(hours=1), window_end=later(hours=5)
    )
    made = create(api, window)
    assert made["schedule_mode"] == "window"
    assert made["window_start"] is not None
    assert made["send_at"] is None


def test_all_that_match_a_filter_is_an_audience_and_a_bad_filter_is_400(personas, api_for):
    s = stage(personas.workspace, n=4)
    api = api_for("editor")
    made = create(api, s.campaign_body(list_ids=[], picked={"q": "acme"}))
    assert made["picked"]["q"] == "acme"
    estimate = api.get(f"{URL}{made['id']}/estimate/").json()
    assert estimate["reachable"] == 2  # Name0 and Name2 work at Acme
    bad = s.campaign_body(picked={"field": "nosuchfield", "op": "eq", "value": "x"})
    response = api.post(URL, bad, format="json")
    assert response.status_code == 400
    assert "picked" in response.json()["error"]["fields"]


def test_the_estimate_counts_who_is_reached_and_left_out(personas, api_for):
    s = stage(personas.workspace, n=4)
    Suppression.objects.create(workspace=s.workspace, email=s.recipients[1].email, reason="manual")
    s.recipients[2].status = RecipientStatus.UNSUBSCRIBED
    s.recipients[2].save()
    api = api_for("editor")
    # Recipient 0 is in the list and picked too: one duplicate.
    made = create(api, s.campaign_body(picked={"ids": [s.recipients[0].pk]}))
    estimate = api.get(f"{URL}{made['id']}/estimate/").json()
    assert estimate == {
        "campaign_id": made["id"],
        "counted": "now",
        "reachable": 2,
        "left_out": 3,
        "suppressed": 1,
        "unsubscribed": 1,
        "duplicates": 1,
    }
    send(api, made["id"])
    after = api.get(f"{URL}{made['id']}/estimate/").json()
    assert after["counted"] == "at_launch"
    assert after["reachable"] == 2
    assert Delivery.objects.filter(campaign_id=made["id"]).count() == 2


def test_send_pause_resume_cancel_and_the_counts(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("editor")
    campaign_id = create(api, s.campaign_body())["id"]
    sent = send(api, campaign_id)
    assert sent.json()["status"] == "running"
    assert sent.json()["counts"]["queued"] == 3
    assert sent.json()["allowed_actions"] == ["pause", "cancel"]
    assert api.post(f"{URL}{campaign_id}/pause/").json()["status"] == "paused"
    assert api.post(f"{URL}{campaign_id}/resume/").json()["status"] == "running"
    cancelled = api.post(f"{URL}{campaign_id}/cancel/").json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["counts"]["cancelled"] == 3
    assert cancelled["total"] == 3


@pytest.mark.parametrize(
    ("action", "state"),
    [("pause", "draft"), ("resume", "draft"), ("unschedule", "draft")],
)
def test_a_move_the_state_does_not_allow_is_409_naming_the_state(personas, api_for, action, state):
    s = stage(personas.workspace)
    api = api_for("editor")
    campaign_id = create(api, s.campaign_body())["id"]
    response = api.post(f"{URL}{campaign_id}/{action}/")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "transition_not_allowed"
    assert error["current_status"] == state
    assert Campaign.objects.get(pk=campaign_id).status == state


def test_a_finished_campaign_cannot_be_sent_changed_scheduled_or_deleted_while_running(
    personas, api_for
):
    s = stage(personas.workspace)
    api = api_for("editor")
    campaign_id = create(api, s.campaign_body())["id"]
    send(api, campaign_id)
    again = api.post(f"{URL}{campaign_id}/send/")
    assert again.status_code == 409
    assert again.json()["error"]["current_status"] == "running"
    change = api.patch(f"{URL}{campaign_id}/", {"name": "Renamed"}, format="json")
    assert change.status_code == 409
    assert change.json()["error"]["code"] == "campaign_not_editable"
    assert change.json()["error"]["current_status"] == "running"
    schedule = api.post(f"{URL}{campaign_id}/schedule/", {"send_at": later(hours=1)})
    assert schedule.status_code == 409
    delete = api.delete(f"{URL}{campaign_id}/")
    assert delete.status_code == 409
    assert delete.json()["error"]["code"] == "campaign_active"
    assert Campaign.objects.get(pk=campaign_id).name == "Spring"


def test_schedule_at_a_time_or_a_window_then_unschedule(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("editor")
    campaign_id = create(api, s.campaign_body())["id"]
    at = api.post(f"{URL}{campaign_id}/schedule/", {"send_at": later(hours=2)}, format="json")
    assert at.status_code == 200, at.json()
    assert (at.json()["status"], at.json()["schedule_mode"]) == ("scheduled", "at")
    window = {"window_start": later(hours=1), "window_end": later(hours=3)}
    moved = api.post(f"{URL}{campaign_id}/schedule/", window, format="json").json()
    assert (moved["status"], moved["schedule_mode"]) == ("scheduled", "window")
    assert moved["window_end"] is not None
    back = api.post(f"{URL}{campaign_id}/unschedule/").json()
    assert back["status"] == "draft"

    past = api.post(f"{URL}{campaign_id}/schedule/", {"send_at": later(hours=-2)}, format="json")
    assert past.status_code == 400
    assert past.json()["error"]["fields"]["send_at"][0]["message"] == "This time is in the past."
    neither = api.post(f"{URL}{campaign_id}/schedule/", {}, format="json")
    assert neither.status_code == 400
    half = api.post(f"{URL}{campaign_id}/schedule/", {"window_start": later(hours=1)})
    assert "window_end" in half.json()["error"]["fields"]
    assert Campaign.objects.get(pk=campaign_id).status == "draft"


def test_put_replaces_and_patch_changes_parts_while_editable(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("editor")
    campaign_id = create(api, s.campaign_body(picked={"ids": [s.recipients[0].pk]}))["id"]
    patched = api.patch(f"{URL}{campaign_id}/", {"name": "Autumn"}, format="json").json()
    assert patched["name"] == "Autumn"
    assert patched["picked"]["ids"] == [s.recipients[0].pk]  # kept
    put = api.put(f"{URL}{campaign_id}/", s.campaign_body(name="Winter"), format="json").json()
    assert put["name"] == "Winter"
    assert put["picked"] == {}  # a PUT replaces the whole audience
    bad = api.put(f"{URL}{campaign_id}/", {"name": "No template"}, format="json")
    assert bad.status_code == 400
    assert Campaign.objects.get(pk=campaign_id).name == "Winter"


def test_a_draft_is_deleted(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("editor")
    campaign_id = create(api, s.campaign_body())["id"]
    assert api.delete(f"{URL}{campaign_id}/").status_code == 204
    assert not Campaign.objects.filter(pk=campaign_id).exists()
    assert api.get(f"{URL}{campaign_id}/").status_code == 404


def test_stats_follow_the_engine_until_the_campaign_completes(personas, api_for, smtp_sink):
    s = stage(personas.workspace, smtp_sink)
    api = api_for("viewer")
    editor = api_for("editor")
    campaign_id = create(editor, s.campaign_body())["id"]
    send(editor, campaign_id)
    before = api.get(f"{URL}{campaign_id}/stats/").json()
    assert (before["status"], before["waiting"], before["percent"]) == ("running", 3, 0)
    engine = Engine()
    while engine.step():
        pass
    after = api.get(f"{URL}{campaign_id}/stats/").json()
    assert after["status"] == "completed"
    assert after["counts"]["sent"] == 3
    assert (after["done"], after["percent"], after["eta_seconds"]) == (3, 100, None)
    assert after["rate_per_minute"] > 0


def test_the_list_filters_orders_and_checks_its_parameters(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("viewer")
    editor = api_for("editor")
    for name in ("Beta", "Alpha", "Gamma"):
        create(editor, s.campaign_body(name=name))
    Campaign.objects.filter(name="Gamma").update(status=CampaignStatus.CANCELLED)
    CampaignFactory.create(workspace=s.workspace, name="single", is_single=True, bare=True)
    names = [c["name"] for c in api.get(URL, {"ordering": "name"}).json()["results"]]
    assert names == ["Alpha", "Beta", "Gamma"]
    cancelled = api.get(URL, {"status": "cancelled"}).json()
    assert [c["name"] for c in cancelled["results"]] == ["Gamma"]
    assert cancelled["count"] == 1
    singles = api.get(URL, {"single": "true"}).json()["results"]
    assert [c["name"] for c in singles] == ["single"]
    for params in ({"status": "nope"}, {"ordering": "secret"}):
        response = api.get(URL, params)
        assert response.status_code == 400
        assert set(response.json()["error"]["fields"]) == set(params)


def test_the_list_reads_counts_for_a_page_at_once(personas, api_for, django_assert_max_num_queries):
    s = stage(personas.workspace)
    editor = api_for("editor")
    for i in range(5):
        campaign_id = create(editor, s.campaign_body(name=f"C{i}"))["id"]
        send(editor, campaign_id)
    api = api_for("viewer")
    with django_assert_max_num_queries(12):
        results = api.get(URL).json()["results"]
    assert [c["counts"]["queued"] for c in results] == [3] * 5


def test_the_report_is_a_csv_of_every_delivery(personas, api_for):
    s = stage(personas.workspace)
    editor = api_for("editor")
    campaign_id = create(editor, s.campaign_body())["id"]
    send(editor, campaign_id)
    response = api_for("viewer").get(f"{URL}{campaign_id}/report.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    # A byte order mark first, as in every CSV download, so spreadsheets read UTF-8.
    assert lines[0].startswith("\ufeffemail,status,attempts")
    assert sorted(line.split(",")[0] for line in lines[1:]) == [r.email for r in s.recipients]


def test_the_lifetime_is_set_in_days_read_back_and_bounded(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("editor")
    made = create(api, s.campaign_body())
    assert made["lifetime_days"] == 3  # the default
    changed = api.patch(f"{URL}{made['id']}/", {"lifetime_days": 10}, format="json")
    assert changed.status_code == 200, changed.json()
    assert changed.json()["lifetime_days"] == 10
    assert Campaign.objects.get(pk=made["id"]).lifetime_seconds == 10 * 24 * 3600
    for wrong in (0, 31):
        refused = api.patch(f"{URL}{made['id']}/", {"lifetime_days": wrong}, format="json")
        assert refused.status_code == 400
        assert "lifetime_days" in refused.json()["error"]["fields"]
    assert Campaign.objects.get(pk=made["id"]).lifetime_seconds == 10 * 24 * 3600
