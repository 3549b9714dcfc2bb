"""The campaign list's figures: right after sending, retries and failures, and read from the
campaign once it is finished (the list no longer reads a million deliveries)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.engine.step import Engine
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db

EMAILS = [
    "ok1@example.test",
    "ok2@example.test",
    "retry@example.test",  # refused once (451), sent at the second try
    "nouser+gone@example.test",  # 550 5.1.1: failed
    "tempfail+always@example.test",  # 451 every time: failed after its attempts
]


def drive(engine: Engine, time_machine, rounds: int) -> None:
    for _ in range(rounds):
        engine.step()
        time_machine.shift(timedelta(seconds=10))


def figures(client) -> str:
    page = client.get(reverse("campaigns:index")).content.decode()
    found = re.search(r'<span class="muted text-xs">([^<]*)</span>', page)
    assert found, page
    return " ".join(found.group(1).split())


def reads_deliveries(captured) -> bool:
    return any("campaigns_delivery" in q["sql"] for q in captured.captured_queries)


def test_the_list_counts_sent_retried_and_failed_and_then_stops_reading_deliveries(
    personas, smtp_sink, time_machine, viewer_client, django_assert_max_num_queries
):
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    smtp_sink.set_reply("retry@example.test", "451 4.3.0 Try again later", times=1)
    setup = make_campaign(personas.workspace, smtp_sink, emails=EMAILS)
    setup.campaign.max_attempts = 2
    setup.campaign.save(update_fields=["max_attempts"])
    campaign_start(campaign=setup.campaign)
    assert figures(viewer_client) == "0 of 5 sent, 5 to send"

    drive(Engine(batch_size=10), time_machine, 20)
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.COMPLETED
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 3
    assert setup.campaign.final_counts is not None  # kept by the engine's steps
    with django_assert_max_num_queries(50) as first:
        assert figures(viewer_client) == "3 of 5 sent"
    assert not reads_deliveries(first)

    # A bounce after the end turns sent into bounced: still accepted, still "3 sent".
    Delivery.objects.filter(email="ok1@example.test").update(status=DeliveryStatus.BOUNCED)
    with django_assert_max_num_queries(50) as later:
        assert figures(viewer_client) == "3 of 5 sent"
    assert not reads_deliveries(later)


def test_a_cancelled_campaign_is_kept_only_once_nothing_is_in_flight(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    campaign_start(campaign=setup.campaign)
    first = Delivery.objects.filter(campaign=setup.campaign).order_by("pk")[0]
    Delivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.SENDING)  # in flight
    services.campaign_cancel(campaign=setup.campaign)

    assert services.campaigns_freeze_counts(campaign_ids=[setup.campaign.pk]) == 0
    Delivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.SENT)  # its reply came
    assert services.campaigns_freeze_counts(campaign_ids=[setup.campaign.pk]) == 1
    campaign = Campaign.objects.get(pk=setup.campaign.pk)
    assert campaign.final_counts == {"sent": 1, "cancelled": 2}


def test_a_running_campaign_is_never_kept(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=2)
    campaign_start(campaign=setup.campaign)
    Delivery.objects.filter(campaign=setup.campaign).update(status=DeliveryStatus.SENT)
    assert services.campaigns_freeze_counts(campaign_ids=[setup.campaign.pk]) == 0


def test_the_list_only_reads_and_the_engine_keeps_the_counts(
    personas, smtp_sink, viewer_client, django_assert_max_num_queries
):
    setup = make_campaign(personas.workspace, smtp_sink, n=2)
    campaign_start(campaign=setup.campaign)
    Delivery.objects.filter(campaign=setup.campaign).update(status=DeliveryStatus.SENT)
    Campaign.objects.filter(pk=setup.campaign.pk).update(status=CampaignStatus.COMPLETED)

    with django_assert_max_num_queries(50) as listed:
        assert figures(viewer_client) == "2 of 2 sent"
    writes = [q["sql"] for q in listed.captured_queries if 'UPDATE "campaigns_' in q["sql"]]
    assert not writes  # the list writes nothing of campaigns
    assert Campaign.objects.get(pk=setup.campaign.pk).final_counts is None

    assert services.campaigns_freeze_finished() == 1
    assert Campaign.objects.get(pk=setup.campaign.pk).final_counts == {"sent": 2}
    assert services.campaigns_freeze_finished() == 0  # nothing left to keep


def test_the_engine_leaves_a_campaign_with_a_message_in_flight_for_later(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=2)
    campaign_start(campaign=setup.campaign)
    first = Delivery.objects.filter(campaign=setup.campaign).order_by("pk")[0]
    Delivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.SENDING)
    services.campaign_cancel(campaign=setup.campaign)
    assert services.campaigns_freeze_finished() == 0
    Delivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.SENT)
    assert services.campaigns_freeze_finished() == 1


def test_a_running_campaigns_counts_are_shared_by_the_lists_and_the_api_for_a_moment(
    personas, owner_client, api_for, smtp_sink
):
    """Every campaign list and every read in the API counted a running campaign's deliveries
    again; now one count serves them all for two seconds, and a status change counts anew."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    campaign_start(campaign=setup.campaign)
    api = api_for("viewer")
    pages = [
        lambda: owner_client.get(reverse("campaigns:index")),
        lambda: api.get("/api/campaigns/"),
        lambda: api.get(f"/api/campaigns/{setup.campaign.pk}/"),
    ]

    def delivery_counts() -> int:
        with CaptureQueriesContext(connection) as captured:
            for page in pages:
                assert page().status_code == 200
        return sum('COUNT(*) AS "n" FROM "campaigns_delivery"' in q["sql"] for q in captured)

    assert delivery_counts() == 1
    assert delivery_counts() == 0
    assert api.get(f"/api/campaigns/{setup.campaign.pk}/").json()["counts"]["queued"] == 3
    services.campaign_pause(campaign=Campaign.objects.get(pk=setup.campaign.pk))
    assert api.get(f"/api/campaigns/{setup.campaign.pk}/").json()["counts"]["queued"] == 3
    assert delivery_counts() == 3  # paused: counted at every read
