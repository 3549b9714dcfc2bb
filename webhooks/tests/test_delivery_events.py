"""Delivery events come from the attempt log, batched: a campaign of 250 is 3 requests."""

import time

import pytest

from campaigns.engine.step import Engine
from campaigns.models import Attempt, Delivery
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from campaigns.tests.factories import CampaignFactory, DeliveryFactory
from sending.models import AccountKind
from webhooks.collect import collect
from webhooks.dispatch import run_webhook_step
from webhooks.models import Event, EventState
from webhooks.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db


def run_engine(engine: Engine) -> None:
    for _ in range(100):
        if not engine.step():
            return


def drain_webhooks(rounds: int = 50) -> None:
    for _ in range(rounds):
        if not run_webhook_step():
            return


def test_a_sent_campaign_is_told_in_batches_each_delivery_once(personas, smtp_sink, receiver):
    make_endpoint(personas.workspace, receiver.url, ["delivery.sent", "delivery.failed"])
    setup = make_campaign(personas.workspace, smtp_sink, n=250, kind=AccountKind.CAPTURE)
    campaign_start(campaign=setup.campaign)
    run_engine(Engine(batch_size=100))
    assert Attempt.objects.filter(outcome="sent").count() == 250

    started = time.monotonic()
    drain_webhooks()
    elapsed = time.monotonic() - started

    requests = receiver.accepted()
    assert len(requests) == 3, [len(r.events) for r in requests]
    events = [e for r in requests for e in r.events]
    assert {e["type"] for e in events} == {"delivery.sent"}
    delivery_ids = [e["data"]["delivery_id"] for e in events]
    assert len(delivery_ids) == 250
    assert set(delivery_ids) == set(Delivery.objects.values_list("id", flat=True))
    first = events[0]["data"]
    assert first["campaign_id"] == setup.campaign.pk
    assert first["email"].endswith("@example.test")
    assert first["outcome"] == "sent"
    # Nothing is read twice: another pass queues nothing new.
    collect(now=setup.campaign.created_at.now(tz=setup.campaign.created_at.tzinfo))
    assert Event.objects.count() == 3
    assert elapsed < 10, elapsed


def test_failures_and_not_found_are_told_with_their_codes(personas, smtp_sink, receiver):
    make_endpoint(personas.workspace, receiver.url, ["*"])
    emails = ["ok@example.test", "nouser+1@example.test", "policy+1@example.test"]
    setup = make_campaign(personas.workspace, smtp_sink, emails=emails)
    campaign_start(campaign=setup.campaign)
    run_engine(Engine())
    drain_webhooks()

    events = [e for r in receiver.accepted() for e in r.events]
    by_email = {e["data"]["email"]: e for e in events if e["type"].startswith("delivery.")}
    assert by_email["ok@example.test"]["type"] == "delivery.sent"
    assert by_email["nouser+1@example.test"]["type"] == "delivery.not_found"
    assert by_email["nouser+1@example.test"]["data"]["smtp_code"] == 550
    assert by_email["policy+1@example.test"]["type"] == "delivery.failed"
    changes = [e["data"]["change"] for e in events if e["type"] == "campaign.status_changed"]
    assert changes == ["started", "completed"]


def test_history_before_the_endpoint_is_not_replayed(personas, smtp_sink, receiver):
    setup = make_campaign(personas.workspace, smtp_sink, n=3, kind=AccountKind.CAPTURE)
    campaign_start(campaign=setup.campaign)
    run_engine(Engine())
    make_endpoint(personas.workspace, receiver.url, ["*"])
    drain_webhooks()
    assert receiver.requests == []


def test_workspaces_without_endpoints_are_not_read(personas, smtp_sink, django_assert_num_queries):
    setup = make_campaign(personas.workspace, smtp_sink, n=3, kind=AccountKind.CAPTURE)
    campaign_start(campaign=setup.campaign)
    run_engine(Engine())
    # One query for watched workspaces, one for due requests: the cost of an idle feature.
    with django_assert_num_queries(2):
        assert run_webhook_step() is False
    assert not Event.objects.filter(state=EventState.PENDING).exists()


def make_attempts(workspace, outcomes):
    """Deliveries with one attempt each, written as the engine's record step writes them."""
    campaign = CampaignFactory.create(
        workspace=workspace, name="By hand", status="running", bare=True
    )
    rows = []
    for i, (outcome, status, code) in enumerate(outcomes):
        delivery = DeliveryFactory.create(
            campaign=campaign, address=f"r{i}@example.test", status=status
        )
        rows.append(
            Attempt.objects.create(
                workspace=workspace,
                campaign=campaign,
                delivery=delivery,
                email=delivery.email,
                outcome=outcome,
                smtp_code=code,
            )
        )
    return rows


def test_each_attempt_is_told_by_what_it_did_to_its_delivery(personas, receiver, settings):
    settings.WEBHOOK_EVENTS_PER_REQUEST = 2
    make_endpoint(personas.workspace, receiver.url, ["*"])
    rows = make_attempts(
        personas.workspace,
        [
            ("sent", "sent", 250),
            ("temporary", "deferred", 451),
            ("permanent", "not_found", 550),
            ("permanent", "failed", 554),
            ("temporary", "failed", 451),  # the last of its tries
        ],
    )
    drain_webhooks()
    requests = receiver.accepted()
    assert [len(r.events) for r in requests] == [2, 2, 1]
    types = {e["data"]["attempt_id"]: e["type"] for r in requests for e in r.events}
    assert types == {
        rows[0].pk: "delivery.sent",
        rows[1].pk: "delivery.deferred",
        rows[2].pk: "delivery.not_found",
        rows[3].pk: "delivery.failed",
        rows[4].pk: "delivery.failed",
    }
    ids = [e["id"] for r in requests for e in r.events]
    assert ids == [f"evt_att_{a.pk}" for a in rows]


def test_another_workspaces_attempts_are_never_told(personas, receiver):
    make_endpoint(personas.workspace, receiver.url, ["*"])
    make_attempts(personas.other_workspace, [("sent", "sent", 250)])
    drain_webhooks()
    assert receiver.requests == []
