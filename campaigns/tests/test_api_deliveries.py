"""Deliveries, attempts, send-now, single messages and the dashboard through real API keys;
viewers write nothing, and no list shows another workspace's rows."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audience.models import Recipient
from campaigns.engine.step import Engine
from campaigns.models import Attempt, Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.api_setup import Stage, stage
from campaigns.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def sent_campaign(s: Stage, name: str = "Spring") -> Campaign:
    campaign = s.campaign(name=name)
    campaign_start(campaign=campaign)
    engine = Engine()
    while engine.step():
        pass
    return campaign


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_deliveries_of_an_address_are_found_by_index_whoever_they_belong_to_now(
    personas, api_for, smtp_sink
):
    """?email= reads the deliveries through the recipient's index and the sent deliveries'
    lower(email) index, never every delivery case aside: one sent to a recipient deleted
    since is found, another address's are not."""
    s = stage(personas.workspace, smtp_sink, n=3)
    campaign = sent_campaign(s)
    Recipient.objects.filter(workspace=personas.workspace, email="person2@example.test").delete()
    api = api_for("viewer")

    with CaptureQueriesContext(connection) as queries:
        found = api.get("/api/deliveries/", {"email": " PERSON2@Example.test "})

    [delivery] = found.json()["results"]
    assert (delivery["email"], delivery["campaign_id"]) == ("person2@example.test", campaign.pk)
    folded = [q["sql"] for q in queries if re.search(r"UPPER\(| LIKE ", q["sql"], re.I)]
    assert not folded, folded
    assert ids(api.get("/api/deliveries/", {"email": "nobody@example.test"})) == []


def test_deliveries_filter_and_page_by_cursor(personas, api_for, smtp_sink):
    s = stage(personas.workspace, smtp_sink, n=5)
    smtp_sink.set_reply("person1@example.test", "550 5.1.1 No such user")
    campaign = sent_campaign(s)
    api = api_for("viewer")
    url = "/api/deliveries/"
    assert len(ids(api.get(url, {"campaign_id": campaign.pk}))) == 5
    failed = api.get(url, {"status": "not_found"}).json()["results"]
    assert [d["email"] for d in failed] == ["person1@example.test"]
    assert failed[0]["last_code"] == 550
    assert len(ids(api.get(url, {"email": "PERSON3@example.test"}))) == 1
    assert len(ids(api.get(url, {"account_id": s.account.pk}))) == 5
    assert ids(api.get(url, {"since": (timezone.now() + timedelta(hours=1)).isoformat()})) == []
    today = timezone.now().date().isoformat()
    assert len(ids(api.get(url, {"since": today}))) == 5

    first = api.get(url, {"page_size": 2}).json()
    assert len(first["results"]) == 2
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 2
    assert not {d["id"] for d in first["results"]} & {d["id"] for d in second["results"]}
    for params in ({"status": "lost"}, {"campaign_id": "x"}, {"since": "yesterday"}):
        response = api.get(url, params)
        assert response.status_code == 400
        assert set(response.json()["error"]["fields"]) == set(params)


def test_a_delivery_shows_its_attempts(personas, api_for, smtp_sink, time_machine):
    s = stage(personas.workspace, smtp_sink, n=1)
    smtp_sink.set_reply("person0@example.test", "451 4.3.0 Try again later", times=1)
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    campaign = sent_campaign(s)
    time_machine.move_to("2026-11-21 10:10:00Z", tick=False)
    engine = Engine()
    while engine.step():
        pass
    delivery = Delivery.objects.get(campaign=campaign)
    shown = api_for("viewer").get(f"/api/deliveries/{delivery.pk}/").json()
    assert shown["status"] == "sent"
    assert shown["attempt_count"] == 2
    assert [(a["outcome"], a["smtp_code"]) for a in shown["attempts"]] == [
        ("temporary", 451),
        ("sent", 250),
    ]


def test_attempts_filter_by_campaign_delivery_outcome_and_time(personas, api_for, smtp_sink):
    s = stage(personas.workspace, smtp_sink, n=3)
    smtp_sink.set_reply("person2@example.test", "550 5.1.1 No such user")
    first = sent_campaign(s, "First")
    second = sent_campaign(s, "Second")
    api = api_for("viewer")
    url = "/api/attempts/"
    # person2 was not found by the first campaign, so suppressed and left out of the second.
    assert len(ids(api.get(url))) == 5
    assert len(ids(api.get(url, {"campaign_id": second.pk}))) == 2
    permanent = api.get(url, {"outcome": "permanent"}).json()
    assert [(a["email"], a["campaign_id"]) for a in permanent["results"]] == [
        ("person2@example.test", first.pk)
    ]
    delivery = Delivery.objects.get(campaign=first, email="person0@example.test")
    only = api.get(url, {"delivery_id": delivery.pk}).json()["results"]
    assert [a["delivery_id"] for a in only] == [delivery.pk]
    attempt = Attempt.objects.filter(delivery=delivery).get()
    assert api.get(f"{url}{attempt.pk}/").json()["reply"] == attempt.reply
    until = (timezone.now() - timedelta(minutes=5)).isoformat()
    assert ids(api.get(url, {"until": until})) == []
    assert api.get(url, {"outcome": "great"}).status_code == 400


def test_attempts_sharing_a_timestamp_page_by_keyset_each_once(
    personas, api_for, smtp_sink, time_machine
):
    """A chunk of the engine's attempts shares one timestamp. The pages go on after the last
    row's (time, id), never skipping over the rows before them (OFFSET), which DRF's cursor
    did within a timestamp."""
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    sent_campaign(stage(personas.workspace, smtp_sink, n=25))
    assert Attempt.objects.values("created_at").distinct().count() == 1
    api = api_for("viewer")
    seen: list[int] = []
    url: str | None = "/api/attempts/?page_size=10"
    while url is not None:
        with CaptureQueriesContext(connection) as queries:
            body = api.get(url).json()
        assert set(body) == {"next", "first", "results"}
        offsets = [q["sql"] for q in queries if " OFFSET " in q["sql"].upper()]
        assert not offsets, offsets
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        assert len(seen) <= 35, "the next links go round in circles"
    assert seen == sorted(seen, reverse=True)
    assert sorted(seen) == sorted(Attempt.objects.values_list("pk", flat=True))


def test_send_now_makes_a_waiting_message_due_and_refuses_a_sent_one(personas, api_for, smtp_sink):
    s = stage(personas.workspace, smtp_sink, n=1)
    campaign = s.campaign(name="Later")
    campaign_start(campaign=campaign)
    delivery = Delivery.objects.get(campaign=campaign)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DEFERRED, next_attempt_at=timezone.now() + timedelta(hours=2)
    )
    api = api_for("editor")
    url = f"/api/deliveries/{delivery.pk}/send-now/"
    assert api_for("viewer").post(url).status_code == 403
    response = api.post(url)
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.next_attempt_at <= timezone.now()
    engine = Engine()
    while engine.step():
        pass
    assert smtp_sink.wait_for(1)[0].rcpt_tos == ["person0@example.test"]
    again = api.post(url)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "delivery_not_waiting"
    assert again.json()["error"]["current_status"] == "sent"


def test_a_single_message_is_queued_to_one_recipient(personas, api_for, smtp_sink):
    s = stage(personas.workspace, smtp_sink, n=2)
    api = api_for("editor")
    body = {
        "email": "PERSON1@example.test",
        "template_id": s.template.pk,
        "account_id": s.account.pk,
    }
    response = api.post("/api/messages/", body, format="json")
    assert response.status_code == 201, response.json()
    queued = response.json()
    assert (queued["email"], queued["status"]) == ("person1@example.test", "running")
    delivery = Delivery.objects.get(pk=queued["delivery_id"])
    assert delivery.campaign.is_single
    engine = Engine()
    while engine.step():
        pass
    message = smtp_sink.wait_for(1)[0]
    assert message.subject == "Hello Name1"

    later = (timezone.now() + timedelta(hours=1)).isoformat()
    scheduled = api.post(
        "/api/messages/", {**body, "email": "person0@example.test", "send_at": later}
    ).json()
    assert (scheduled["status"], scheduled["delivery_id"]) == ("scheduled", None)
    unknown = api.post("/api/messages/", {**body, "email": "who@example.test"}, format="json")
    assert unknown.json()["error"]["fields"]["email"]
    no_account = api.post("/api/messages/", {**body, "account_id": 999_999}, format="json")
    assert no_account.status_code == 400
    assert "sending account" in no_account.json()["error"]["message"]
    assert api_for("viewer").post("/api/messages/", body, format="json").status_code == 403


def test_the_dashboard_has_the_pages_figures(personas, api_for, smtp_sink):
    s = stage(personas.workspace, smtp_sink, n=3)
    sent_campaign(s)
    figures = api_for("viewer").get("/api/dashboard/").json()
    assert figures["recipients"] == 3
    assert figures["templates"] == 1
    assert (figures["campaigns_total"], figures["campaigns_active"]) == (1, 0)
    assert figures["reached"] == 3
    assert figures["today"]["sent"] == 3
    assert figures["month"]["sent"] == 3
    assert len(figures["days"]) == len(figures["series"]["sent"]) == 30
    assert figures["accounts"][0]["sent_today"] == 3


WRITES = [
    ("post", "/api/campaigns/"),
    ("put", "/api/campaigns/{c}/"),
    ("patch", "/api/campaigns/{c}/"),
    ("delete", "/api/campaigns/{c}/"),
    *(("post", f"/api/campaigns/{{c}}/{a}/") for a in ("send", "schedule", "unschedule")),
    *(("post", f"/api/campaigns/{{c}}/{a}/") for a in ("pause", "resume", "cancel")),
    ("post", "/api/email-burst/"),
    ("put", "/api/email-burst/{c}/"),
    ("delete", "/api/email-burst/{c}/"),
    ("post", "/api/email-burst/{c}/send/"),
    ("post", "/api/email-burst/{c}/schedule/"),
    ("post", "/api/deliveries/{d}/send-now/"),
    ("post", "/api/messages/"),
]


def test_a_viewer_reads_but_every_write_is_403(personas, api_for, smtp_sink):
    s = stage(personas.workspace, smtp_sink, n=1)
    campaign = sent_campaign(s)
    draft = CampaignFactory.create(workspace=s.workspace, name="Draft", bare=True)
    delivery = Delivery.objects.get(campaign=campaign)
    viewer = api_for("viewer")
    for method, url in WRITES:
        response = getattr(viewer, method)(url.format(c=draft.pk, d=delivery.pk), {})
        assert response.status_code == 403, (method, url, response.status_code)
        assert response.json()["error"]["code"] == "permission_denied"
    assert Campaign.objects.get(pk=draft.pk).status == CampaignStatus.DRAFT
    for url in ("/api/campaigns/", "/api/deliveries/", "/api/attempts/", "/api/dashboard/"):
        assert viewer.get(url).status_code == 200


def test_lists_never_show_another_workspaces_rows(personas, api_for, smtp_sink):
    home = stage(personas.workspace, smtp_sink, n=1)
    away = stage(personas.other_workspace, smtp_sink, n=2, prefix="foreignmark")
    mine = sent_campaign(home, "Home")
    theirs = sent_campaign(away, "foreignmark campaign")
    api = api_for("owner")
    for url in ("/api/campaigns/", "/api/email-burst/", "/api/deliveries/", "/api/attempts/"):
        body = api.get(url).content.decode()
        assert "foreignmark" not in body, url
        assert ids(api.get(url))  # the home workspace's rows are there
    for url in ("/api/deliveries/", "/api/attempts/"):
        assert ids(api.get(url, {"campaign_id": theirs.pk})) == []
    assert "foreignmark" not in api.get("/api/dashboard/").content.decode()
    assert api.get("/api/dashboard/").json()["recipients"] == 1
    assert api.get(f"/api/campaigns/{theirs.pk}/report.csv").status_code == 404
    assert mine.pk != theirs.pk


@pytest.mark.parametrize("moment", ["0375-05-28T16:00:30+21:50", "0001-01-01T00:00:00+01:00"])
@pytest.mark.parametrize("path", ["/api/deliveries/", "/api/attempts/"])
def test_any_iso_moment_filters_or_is_refused_never_a_500(api_for, path, moment):
    response = api_for("viewer").get(path, {"since": moment})
    assert response.status_code in (200, 400), response.content[:300]
