"""A finished, frozen campaign's page takes its per-status counts from the cache instead of
counting its deliveries on every view, and a bounce or complaint marked afterwards shows at
the next view, whether it came alone (a webhook) or in a mailbox's batch."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import WorkspaceFactory
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.selectors import campaign_progress
from campaigns.services import campaign_pause
from campaigns.tests.factories import CampaignFactory, DeliveryFactory
from tracking import rules
from tracking.events import Fact, record, record_many
from tracking.models import BounceType, EventKind, EventSource

pytestmark = pytest.mark.django_db


def finished(
    status=CampaignStatus.COMPLETED, frozen=True, workspace=None
) -> tuple[Campaign, list[Delivery]]:
    """A campaign of three sent deliveries; frozen: its counts kept, as once it has ended."""
    campaign = CampaignFactory.create(
        workspace=workspace or WorkspaceFactory.create(), status=status, bare=True
    )
    deliveries = DeliveryFactory.create_batch(
        3, campaign=campaign, status=DeliveryStatus.SENT, sent_at=timezone.now()
    )
    if frozen:
        Campaign.objects.filter(pk=campaign.pk).update(final_counts={"sent": 3})
    return Campaign.objects.get(pk=campaign.pk), deliveries


def counted(campaign: Campaign) -> tuple[dict[str, int], int]:
    """The page's counts, and how many statements counted the campaign's deliveries."""
    with CaptureQueriesContext(connection) as queries:
        counts = campaign_progress(campaign).counts
    reads = [q["sql"] for q in queries if "campaigns_delivery" in q["sql"]]
    return counts, len(reads)


def hard_bounce(delivery: Delivery) -> Fact:
    return Fact(
        kind=EventKind.BOUNCED,
        source=EventSource.ESP,
        bounce_type=BounceType.HARD,
        status_code="5.1.1",
        dedupe_key=f"b{delivery.pk}",
    )


def test_a_frozen_campaign_is_counted_once_then_read_from_the_cache():
    campaign, _ = finished()
    assert counted(campaign) == ({"sent": 3}, 1)
    assert counted(campaign) == ({"sent": 3}, 0)


def test_a_running_campaign_is_counted_once_a_moment_and_again_once_its_status_changed():
    """Its page and the progress poll of every page open on it share one count for
    two seconds; a campaign not running and not frozen is counted at every view."""
    campaign, _ = finished(status=CampaignStatus.RUNNING, frozen=False)
    assert counted(campaign) == ({"sent": 3}, 1)
    assert counted(campaign) == ({"sent": 3}, 0)  # another page's poll, a moment later
    campaign_pause(campaign=campaign)
    DeliveryFactory.create(campaign=campaign, status=DeliveryStatus.QUEUED)
    campaign.refresh_from_db()  # as the next page loads it
    assert counted(campaign) == ({"sent": 3, "queued": 1}, 1)
    assert counted(campaign) == ({"sent": 3, "queued": 1}, 1)


def test_a_bounce_marked_alone_shows_at_the_next_view():
    campaign, deliveries = finished()
    counted(campaign)
    event = record(hard_bounce(deliveries[0]), delivery=deliveries[0])
    assert event is not None
    rules.apply(event)
    assert counted(campaign)[0] == {"sent": 2, "bounced": 1}


def test_bounces_and_a_complaint_marked_in_a_batch_show_at_the_next_view():
    campaign, deliveries = finished()
    counted(campaign)
    complaint = Fact(kind=EventKind.COMPLAINED, source=EventSource.MAILBOX, dedupe_key="c")
    stored = record_many(
        [(d, hard_bounce(d)) for d in deliveries[:2]] + [(deliveries[2], complaint)]
    )
    rules.apply_batch(stored, rates=rules.RateCheck())
    assert counted(campaign)[0] == {"bounced": 2, "complained": 1}


def test_the_api_reads_a_frozen_campaigns_counts_from_the_cache_and_sees_a_bounce_at_once(
    api_for, personas
):
    """The API's campaign list and campaign counted a finished campaign's deliveries at every
    read (under load: 547 GROUP BYs in two minutes, 17 to 28 ms each); now they share the
    page's kept counts, which tracking forgets when it marks a delivery."""
    campaign, deliveries = finished(workspace=personas.workspace)
    empty, _ = finished(workspace=personas.workspace)  # no deliveries left: counted as none
    Delivery.objects.filter(campaign=empty).delete()
    api = api_for("viewer")

    def read() -> tuple[dict[int, dict[str, int]], int]:
        with CaptureQueriesContext(connection) as queries:
            listed = api.get("/api/campaigns/").json()["results"]
            one = api.get(f"/api/campaigns/{campaign.pk}/").json()
        assert one["counts"] == next(c["counts"] for c in listed if c["id"] == campaign.pk)
        reads = [q["sql"] for q in queries if 'FROM "campaigns_delivery"' in q["sql"]]
        nonzero = {c["id"]: {k: n for k, n in c["counts"].items() if n} for c in listed}
        return nonzero, len(reads)

    counts, reads = read()
    assert counts[campaign.pk] == {"sent": 3}
    assert not counts[empty.pk]
    assert reads == 1
    assert read() == (counts, 0)

    event = record(hard_bounce(deliveries[0]), delivery=deliveries[0])
    assert event is not None
    rules.apply(event)
    counts, reads = read()
    assert counts[campaign.pk] == {"sent": 2, "bounced": 1}
    assert reads == 1
