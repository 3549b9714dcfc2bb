"""What comes back after sending (tracking's events: bounces, complaints, opens, clicks,
replies, unsubscribes) is told to endpoints, read by cursor from `tracking.Event` after the
fact: signed like every request, retried until taken, never another workspace's."""

import re
import time
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audience.models import Recipient
from audience.services import recipients_bulk_apply
from campaigns.engine.step import Engine
from campaigns.models import Campaign, Delivery
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from content.models import Template
from tracking import rules
from tracking.models import BounceType, EventKind, EventSource
from tracking.services import unsubscribe
from tracking.tests.reporting import happened, sent_world
from webhooks import signing
from webhooks.dispatch import run_webhook_step
from webhooks.models import Event, EventState
from webhooks.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db

PERSON = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120"
HTML = (
    '<html><body><p>Dear {first_name}</p><p><a href="https://shop.example/sale">Sale</a></p>'
    '<p><a href="{unsubscribe_url}">Unsubscribe</a></p></body></html>'
)


def drain(rounds: int = 50) -> None:
    for _ in range(rounds):
        if not run_webhook_step():
            return


def told(receiver: Any) -> list[dict[str, Any]]:
    return [e for r in receiver.accepted() for e in r.events]


def record_and_apply(delivery, kind, **fields):
    """As every source does: record the fact, then let the rules act on it."""
    event = happened(delivery, kind, timezone.now(), **fields)
    assert event is not None
    rules.apply(event)
    return event


def test_a_real_message_opened_by_a_proxy_and_clicked_by_a_person(personas, smtp_sink, receiver):
    """End to end: the pixel and the link of a message the SMTP sink received, followed through
    the web layer; the open by Apple's privacy proxy is told marked as a machine's."""
    endpoint = make_endpoint(
        personas.workspace, receiver.url, ["delivery.opened", "delivery.clicked"]
    )
    setup = make_campaign(personas.workspace, smtp_sink, emails=["ann@example.test"])
    Template.objects.filter(pk=setup.campaign.template_id or 0).update(html_body=HTML)
    Campaign.objects.filter(pk=setup.campaign.pk).update(track_opens=True, track_clicks=True)
    campaign_start(campaign=setup.campaign)
    Engine().step()
    [message] = smtp_sink.wait_for(1)
    pixel = re.search(r'src="https?://[^/"]+(/o/[^"]+)"', message.html)
    link = re.search(r'href="https?://[^/"]+(/c/[^"]+)"', message.html)
    assert pixel is not None, message.html
    assert link is not None, message.html
    assert Client(HTTP_USER_AGENT="Mozilla/5.0").get(pixel.group(1)).status_code == 200
    assert Client(HTTP_USER_AGENT=PERSON).get(link.group(1)).status_code == 302

    drain()

    [request] = receiver.accepted()
    now = int(time.time())
    assert signing.verify(
        request.headers["Postroom-Signature"], request.body, endpoint.secret, now=now
    )
    by_type = {e["type"]: e for e in request.events}
    assert set(by_type) == {"delivery.opened", "delivery.clicked"}
    delivery = Delivery.objects.get()
    opened, clicked = by_type["delivery.opened"]["data"], by_type["delivery.clicked"]["data"]
    assert opened["machine"] is True
    assert (opened["delivery_id"], opened["campaign_id"]) == (delivery.pk, delivery.campaign_id)
    assert opened["email"] == "ann@example.test"
    assert clicked["machine"] is False
    assert (clicked["url"], clicked["link_index"]) == ("https://shop.example/sale", 0)
    assert by_type["delivery.clicked"]["id"] == f"evt_trk_{clicked['event_id']}"


def test_bounces_complaints_and_replies_are_told_with_their_fields(personas, receiver):
    make_endpoint(personas.workspace, receiver.url, ["*"])
    world = sent_world(personas.workspace, ["a@example.test", "b@example.test", "c@x.test"])
    hard = world.deliveries["a@example.test"]
    record_and_apply(
        hard, EventKind.BOUNCED, bounce_type=BounceType.HARD, status_code="5.1.1",
        detail="550 5.1.1 no such user", source=EventSource.MAILBOX, source_detail="Bounces",
    )  # fmt: skip
    soft = world.deliveries["b@example.test"]
    record_and_apply(soft, EventKind.BOUNCED, bounce_type=BounceType.SOFT, status_code="4.2.2")
    record_and_apply(soft, EventKind.COMPLAINED, detail="abuse", source=EventSource.ESP)
    reply = world.deliveries["c@x.test"]
    record_and_apply(
        reply, EventKind.REPLIED, detail="Thanks, <b>call me</b>", sender="assistant@x.test"
    )
    record_and_apply(reply, EventKind.DELIVERED, source=EventSource.ESP)  # not told

    drain()

    events = told(receiver)
    types = [e["type"] for e in events]
    assert sorted(types) == [
        "delivery.bounced", "delivery.bounced", "delivery.complained", "delivery.replied",
    ]  # fmt: skip
    bounces = {e["data"]["email"]: e["data"] for e in events if e["type"] == "delivery.bounced"}
    assert bounces["a@example.test"]["bounce_type"] == "hard"
    assert bounces["a@example.test"]["status_code"] == "5.1.1"
    assert bounces["a@example.test"]["diagnostic"] == "550 5.1.1 no such user"
    assert bounces["a@example.test"]["source"] == "mailbox"
    assert bounces["a@example.test"]["source_detail"] == "Bounces"
    assert bounces["b@example.test"]["bounce_type"] == "soft"
    complaint = next(e["data"] for e in events if e["type"] == "delivery.complained")
    assert (complaint["feedback_type"], complaint["source"]) == ("abuse", "esp")
    replied = next(e["data"] for e in events if e["type"] == "delivery.replied")
    assert replied["snippet"] == "Thanks, <b>call me</b>"
    assert (replied["email"], replied["sender"]) == ("c@x.test", "assistant@x.test")
    assert replied["delivery_id"] == reply.pk
    # The complaint suppressed the address, but it is no unsubscribe: told once, as itself.
    assert "recipient.unsubscribed" not in types


def test_an_unsubscribe_by_link_is_told_once_and_one_by_hand_too(personas, receiver):
    make_endpoint(personas.workspace, receiver.url, ["recipient.unsubscribed"])
    world = sent_world(personas.workspace, ["ann@example.test", "bob@example.test"])
    ann = world.deliveries["ann@example.test"]
    assert unsubscribe(delivery=ann) is True  # a suppression row and a tracking event
    recipients_bulk_apply(
        workspace=personas.workspace,
        action="unsubscribe",
        ids=[Recipient.objects.get(email="bob@example.test").pk],
        recipient_list=None,
    )

    drain()

    events = told(receiver)
    assert sorted(e["data"]["email"] for e in events) == ["ann@example.test", "bob@example.test"]
    by_link = next(e for e in events if e["data"]["email"] == "ann@example.test")
    assert by_link["id"].startswith("evt_trk_")
    assert (by_link["data"]["delivery_id"], by_link["data"]["source"]) == (ann.pk, "link")
    by_hand = next(e for e in events if e["data"]["email"] == "bob@example.test")
    assert by_hand["id"].startswith("evt_sup_")
    assert by_hand["data"]["source"] == "bulk action"


def test_only_the_types_subscribed_to_are_told(personas, receiver):
    make_endpoint(personas.workspace, receiver.url, ["delivery.clicked"])
    world = sent_world(personas.workspace, ["ann@example.test"])
    ann = world.deliveries["ann@example.test"]
    record_and_apply(ann, EventKind.OPENED, user_agent=PERSON)
    record_and_apply(ann, EventKind.CLICKED, link_index=0, url="https://shop.example/")
    drain()
    assert [e["type"] for e in told(receiver)] == ["delivery.clicked"]


def test_events_before_the_endpoint_are_not_replayed(personas, receiver):
    world = sent_world(personas.workspace, ["ann@example.test"])
    record_and_apply(world.deliveries["ann@example.test"], EventKind.OPENED)
    make_endpoint(personas.workspace, receiver.url, ["delivery.opened"])
    drain()
    assert receiver.requests == []


def test_a_failed_request_is_retried_with_the_same_event_ids(personas, receiver):
    """At least once: the receiver's 500 leaves the request pending; it comes again, the
    same events with the same ids, and the cursor has not queued them twice."""
    make_endpoint(personas.workspace, receiver.url, ["delivery.opened"])
    world = sent_world(personas.workspace, ["ann@example.test"])
    record_and_apply(world.deliveries["ann@example.test"], EventKind.OPENED)
    receiver.statuses = [500]
    run_webhook_step()
    assert [r.answered for r in receiver.requests] == [500]
    deadline = time.monotonic() + 5
    while Event.objects.filter(state=EventState.PENDING).exists() and time.monotonic() < deadline:
        run_webhook_step()
        time.sleep(0.2)
    first, second = receiver.requests
    assert second.answered == 200
    assert [e["id"] for e in first.events] == [e["id"] for e in second.events]
    assert first.headers["Postroom-Event-Id"] == second.headers["Postroom-Event-Id"]
    assert Event.objects.count() == 1


def test_another_workspaces_feedback_is_never_told(personas, receiver):
    """An endpoint of workspace B never receives what came back to workspace A's messages."""
    make_endpoint(personas.other_workspace, receiver.url, ["*"])
    world = sent_world(personas.workspace, ["ann@example.test"])
    ann = world.deliveries["ann@example.test"]
    record_and_apply(ann, EventKind.OPENED)
    record_and_apply(ann, EventKind.BOUNCED, bounce_type=BounceType.HARD, status_code="5.1.1")
    unsubscribe(delivery=ann)
    drain()
    assert receiver.requests == []
    # B's own feedback is told to B's endpoint, and only it.
    theirs = sent_world(personas.other_workspace, ["zed@example.test"], name="Theirs")
    record_and_apply(theirs.deliveries["zed@example.test"], EventKind.OPENED)
    drain()
    events = told(receiver)
    assert [(e["type"], e["data"]["email"]) for e in events] == [
        ("delivery.opened", "zed@example.test")
    ]
    assert {e["workspace_id"] for e in events} == {personas.other_workspace.pk}


FEEDBACK = {
    "delivery.bounced",
    "delivery.complained",
    "delivery.opened",
    "delivery.clicked",
    "delivery.replied",
    "recipient.unsubscribed",
}


def test_feedback_types_are_offered_listed_and_documented(owner_client, api_for):
    form = owner_client.get("/settings/webhooks/").content.decode()
    assert all(f'value="{t}"' in form for t in FEEDBACK)
    rows = api_for("viewer").get("/api/webhooks/event-types/").json()
    assert {r["type"] for r in rows} >= FEEDBACK
    schema = owner_client.get("/api/schema/?format=json").json()
    data = schema["components"]["schemas"]["FeedbackEventData"]["properties"]
    assert {"bounce_type", "machine", "url", "snippet", "delivery_id"} <= set(data)
