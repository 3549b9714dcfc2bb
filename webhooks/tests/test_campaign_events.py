"""Campaign transitions become campaign.status_changed events: campaigns writes a status
change row in the transaction of the change, and the worker's webhook step reads the rows by
cursor, queues the events and sends them (campaigns never calls webhooks)."""

import pytest
from django.db import transaction

from campaigns.models import CampaignStatusChange
from campaigns.services import campaign_cancel, campaign_pause, campaign_resume, campaign_start
from campaigns.tests.conftest import make_campaign
from sending.models import AccountKind
from webhooks.dispatch import run_webhook_step
from webhooks.models import Event, EventState
from webhooks.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db


def test_each_transition_is_told_once_in_order(personas, smtp_sink, receiver):
    make_endpoint(personas.workspace, receiver.url, ["campaign.status_changed"])
    setup = make_campaign(personas.workspace, smtp_sink, n=2, kind=AccountKind.CAPTURE)

    campaign_start(campaign=setup.campaign)
    campaign_pause(campaign=setup.campaign, reason="Checking the list")
    campaign_resume(campaign=setup.campaign)
    campaign_cancel(campaign=setup.campaign)
    assert CampaignStatusChange.objects.filter(campaign=setup.campaign).count() == 4
    assert not Event.objects.exists()  # queued by the worker's step, not by the change

    while run_webhook_step():
        pass
    run_webhook_step()

    events = [e for r in receiver.accepted() for e in r.events]
    changes = [
        (e["data"]["change"], e["data"]["previous_status"], e["data"]["status"]) for e in events
    ]
    assert sorted(changes) == sorted(
        [
            ("started", "draft", "running"),
            ("paused", "running", "paused"),
            ("resumed", "paused", "running"),
            ("cancelled", "running", "cancelled"),
        ]
    )
    paused = next(e for e in events if e["data"]["change"] == "paused")
    assert paused["data"]["reason"] == "Checking the list"
    assert paused["data"]["campaign"] == {"id": setup.campaign.pk, "name": "Spring"}
    assert len({e["id"] for e in events}) == 4
    assert not Event.objects.exclude(state=EventState.DELIVERED).exists()


def test_a_transition_that_fails_queues_nothing(personas, smtp_sink, receiver):
    from campaigns.services import CampaignError

    make_endpoint(personas.workspace, receiver.url)
    setup = make_campaign(personas.workspace, smtp_sink, n=1, kind=AccountKind.CAPTURE)
    with pytest.raises(CampaignError):
        campaign_pause(campaign=setup.campaign)  # a draft cannot be paused
    run_webhook_step()
    assert not CampaignStatusChange.objects.exists()
    assert not Event.objects.exists()


def test_a_change_rolled_back_is_never_told(personas, smtp_sink, receiver):
    """The row is written in the change's transaction, so it goes when the change goes."""
    make_endpoint(personas.workspace, receiver.url, ["campaign.status_changed"])
    setup = make_campaign(personas.workspace, smtp_sink, n=1, kind=AccountKind.CAPTURE)
    written = []

    def start_then_fail() -> None:
        with transaction.atomic():
            campaign_start(campaign=setup.campaign)
            written.append(CampaignStatusChange.objects.filter(campaign=setup.campaign).count())
            raise RuntimeError("the caller's transaction fails after the start")

    with pytest.raises(RuntimeError):
        start_then_fail()
    assert written == [1]
    run_webhook_step()
    assert not CampaignStatusChange.objects.exists()
    assert not Event.objects.exists()


def test_the_event_tells_the_change_not_the_campaign_as_it_is_later(personas, smtp_sink, receiver):
    make_endpoint(personas.workspace, receiver.url, ["campaign.status_changed"])
    setup = make_campaign(personas.workspace, smtp_sink, n=1, kind=AccountKind.CAPTURE)
    campaign_start(campaign=setup.campaign)
    campaign_pause(campaign=setup.campaign, reason="Checking the list")
    setup.campaign.name = "Renamed later"
    setup.campaign.save(update_fields=["name"])
    while run_webhook_step():
        pass
    events = sorted(
        (e for r in receiver.accepted() for e in r.events), key=lambda e: e["data"]["change"]
    )
    assert [(e["data"]["change"], e["data"]["status"], e["data"]["reason"]) for e in events] == [
        ("paused", "paused", "Checking the list"),
        ("started", "running", ""),
    ]
    assert {e["data"]["campaign"]["name"] for e in events} == {"Spring"}


def test_an_endpoint_not_subscribed_gets_nothing(personas, smtp_sink, receiver):
    make_endpoint(personas.workspace, receiver.url, ["delivery.sent"])
    setup = make_campaign(personas.workspace, smtp_sink, n=1, kind=AccountKind.CAPTURE)
    campaign_start(campaign=setup.campaign)
    run_webhook_step()
    assert not Event.objects.filter(event_type="campaign.status_changed").exists()
