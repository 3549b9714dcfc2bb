"""The Emailer System's /api/email-burst/ as its clients call it: subject, body and recipients
in, the seed's figures out, and the same campaigns (and rules) as /api/campaigns/."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from audience.tests.factories import RecipientFactory
from campaigns.engine.step import Engine
from campaigns.models import Campaign, CampaignStatus
from campaigns.tests.api_setup import stage
from campaigns.tests.factories import CampaignFactory
from content.models import Template
from sending.models import AccountStatus
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db

URL = "/api/email-burst/"
BODY = "<h1>Welcome!</h1><p>Dear {first_name|member},</p><p>Best regards, the Team</p>"


def burst(s, **changes):
    return {
        "subject": "Welcome to Our Community!",
        "body": BODY,
        "recipients": [r.email for r in s.recipients[:2]],
        **changes,
    }


def test_a_burst_made_from_subject_body_and_addresses_is_a_campaign(personas, api_for):
    s = stage(personas.workspace)
    response = api_for("editor").post(URL, burst(s), format="json")
    assert response.status_code == 201, response.json()
    made = response.json()
    assert made["subject"] == "Welcome to Our Community!"
    assert made["body"] == BODY
    assert made["recipients"] == [s.recipients[0].email, s.recipients[1].email]
    assert made["recipients_ids"] == [s.recipients[0].pk, s.recipients[1].pk]
    assert made["sender"] == s.account.from_email
    assert (made["is_sent"], made["total_recipients"], made["success_rate"]) == (False, 2, 0.0)
    campaign = Campaign.objects.get(pk=made["id"])
    assert campaign.name == "Welcome to Our Community!"
    assert campaign.picked == {"ids": [s.recipients[0].pk, s.recipients[1].pk]}
    template = Template.objects.get(pk=int(campaign.template_id or 0))
    assert (template.subject, template.html_body, template.text_from_html) == (
        "Welcome to Our Community!",
        BODY,
        True,
    )
    # The same campaign under Postroom's own name.
    same = api_for("viewer").get(f"/api/campaigns/{made['id']}/").json()
    assert same["picked"]["ids"] == made["recipients_ids"]


def test_recipients_by_id_as_a_json_string_and_through_recipients_ids(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("editor")
    as_string = burst(s, recipients=json.dumps([s.recipients[2].pk]))
    made = api.post(URL, as_string, format="json").json()
    assert made["recipients_ids"] == [s.recipients[2].pk]
    form = api.post(
        URL,
        {"subject": "Form", "body": "<p>Hi</p>", "recipients_ids": [s.recipients[0].pk]},
        format="multipart",
    )
    assert form.status_code == 201, form.json()
    assert form.json()["recipients"] == [s.recipients[0].email]


def test_unknown_recipients_senders_and_bodies_are_400_by_field(personas, api_for):
    s = stage(personas.workspace)
    foreign = stage(personas.other_workspace, prefix="foreign")
    api = api_for("editor")
    response = api.post(URL, burst(s, recipients=["nobody@example.test"]), format="json")
    assert response.status_code == 400
    assert "nobody@example.test" in response.json()["error"]["fields"]["recipients"][0]["message"]
    response = api.post(URL, burst(s, recipients=[foreign.recipients[0].pk]), format="json")
    assert response.json()["error"]["fields"]["recipients"]
    response = api.post(URL, burst(s, sender="ghost@example.test"), format="json")
    assert response.json()["error"]["fields"]["sender"]
    response = api.post(URL, burst(s, body="<p>{no_such_field}</p>"), format="json")
    assert response.json()["error"]["fields"]["body"]
    response = api.post(URL, burst(s, recipients=[]), format="json")
    assert (
        "Choose who receives it" in (response.json()["error"]["fields"]["recipients"][0]["message"])
    )
    assert not Campaign.objects.exists()
    assert not Template.objects.exclude(pk=s.template.pk).filter(workspace=s.workspace).exists()


def test_sender_chooses_the_accounts_and_without_one_every_active_account_sends(personas, api_for):
    s = stage(personas.workspace)
    other = SendingAccountFactory.create(workspace=s.workspace, from_email="news@acme.test")
    SendingAccountFactory.create(workspace=s.workspace, status=AccountStatus.PENDING)
    api = api_for("editor")
    chosen = api.post(URL, burst(s, sender="NEWS@acme.test"), format="json").json()
    assert chosen["account_ids"] == [other.pk]
    assert chosen["sender"] == "news@acme.test"
    every = api.post(URL, burst(s), format="json").json()
    assert sorted(every["account_ids"]) == sorted([s.account.pk, other.pk])


def test_put_changes_the_content_with_a_new_template_and_keeps_what_is_not_sent(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("editor")
    made = api.post(URL, burst(s), format="json").json()
    first_template = made["template_id"]
    same = api.put(f"{URL}{made['id']}/", {"subject": made["subject"]}, format="json").json()
    assert same["template_id"] == first_template  # nothing changed: the same template
    assert same["recipients_ids"] == made["recipients_ids"]
    changed = api.put(
        f"{URL}{made['id']}/", {"subject": "Monthly Newsletter", "body": "<p>News</p>"}
    ).json()
    assert changed["template_id"] != first_template
    assert (changed["subject"], changed["body"]) == ("Monthly Newsletter", "<p>News</p>")
    assert Template.objects.get(pk=first_template).subject == "Welcome to Our Community!"
    assert api.patch(f"{URL}{made['id']}/", {"subject": "x"}).status_code == 405


def test_send_then_stats_with_the_seeds_statuses_next_to_ours(personas, api_for, smtp_sink):
    s = stage(personas.workspace, smtp_sink)
    people = [s.recipients[0].email, "nouser+1@example.test"]
    RecipientFactory.create(workspace=s.workspace, email=people[1])
    api = api_for("editor")
    made = api.post(URL, burst(s, recipients=people), format="json").json()
    sent = api.post(f"{URL}{made['id']}/send/")
    assert sent.status_code == 200
    assert sent.json() == {
        "email_burst_id": made["id"],
        "message": "The email burst is queued: the worker sends it now.",
        "task_id": None,
        "total_recipients": 2,
        "status": "running",
    }
    engine = Engine()
    while engine.step():
        pass
    stats = api_for("viewer").get(f"{URL}{made['id']}/stats/").json()
    assert stats["email_burst_id"] == made["id"]
    assert (stats["total_recipients"], stats["sent_count"], stats["failed_count"]) == (2, 1, 1)
    assert stats["success_rate"] == 50.0
    assert stats["seed_counts"]["not_found"] == 1
    assert stats["seed_counts"]["sent"] == 1
    assert stats["counts"]["not_found"] == 1  # ours, next to the seed's
    assert stats["status"] == "completed"
    again = api.post(f"{URL}{made['id']}/send/")
    assert again.status_code == 409
    assert again.json()["error"]["current_status"] == "completed"
    shown = api.get(f"{URL}{made['id']}/").json()
    assert shown["is_sent"] is True
    assert shown["subject"] == "Welcome to Our Community!"  # the frozen content


def test_schedule_takes_the_seeds_scheduled_time_or_a_window(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("editor")
    made = api.post(URL, burst(s), format="json").json()
    when = (timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    at = when.isoformat().replace("+00:00", "Z")
    response = api.post(f"{URL}{made['id']}/schedule/", {"scheduled_time": at}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["message"] == "Email scheduled successfully"
    assert response.json()["status"] == "scheduled"
    campaign = Campaign.objects.get(pk=made["id"])
    assert (campaign.status, campaign.scheduled_at) == (CampaignStatus.SCHEDULED, when)
    missing = api.post(f"{URL}{made['id']}/schedule/", {}, format="json")
    assert missing.status_code == 400
    assert missing.json()["error"]["fields"]["scheduled_time"][0]["message"] == (
        "Scheduled time is required."
    )
    window = {"window_start": at, "window_end": (when + timedelta(hours=2)).isoformat()}
    moved = api.post(f"{URL}{made['id']}/schedule/", window, format="json").json()
    assert moved["window_end"] is not None


def test_bursts_list_only_the_callers_workspace_and_delete_as_the_ui(personas, api_for):
    s = stage(personas.workspace)
    foreign = stage(personas.other_workspace, prefix="foreign")
    CampaignFactory.create(workspace=foreign.workspace, name="foreign burst", bare=True)
    api = api_for("editor")
    made = api.post(URL, burst(s), format="json").json()
    listed = api_for("viewer").get(URL).json()
    assert [b["id"] for b in listed["results"]] == [made["id"]]
    assert api_for("viewer").delete(f"{URL}{made['id']}/").status_code == 403
    api.post(f"{URL}{made['id']}/send/")
    refused = api.delete(f"{URL}{made['id']}/")
    assert refused.status_code == 409
    api.post(f"/api/campaigns/{made['id']}/cancel/")
    assert api.delete(f"{URL}{made['id']}/").status_code == 204
