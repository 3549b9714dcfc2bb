"""Events: the one way they are written, counted once, and (on PostgreSQL) kept by month."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.engine.step import Engine
from campaigns.models import Delivery
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from core.partitions import month_start, next_month
from tracking.events import Fact, record
from tracking.models import BounceType, Event, EventKind, EventSource
from tracking.partitions import EVENTS

pytestmark = pytest.mark.django_db(transaction=True)

BOUNCE = Fact(
    kind=EventKind.BOUNCED,
    source=EventSource.ESP,
    bounce_type=BounceType.HARD,
    status_code="5.1.1",
    source_detail="postmark",
    dedupe_key="postmark:1234",
)


@pytest.fixture
def delivery(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, emails=["ann@example.test"])
    campaign_start(campaign=setup.campaign)
    Engine().step()
    return Delivery.objects.get()


def test_an_event_is_tied_to_its_delivery_campaign_and_workspace(delivery):
    event = record(BOUNCE, delivery=delivery)
    assert event is not None
    stored = Event.objects.get()
    assert (stored.workspace_id, stored.campaign_id, stored.delivery_id) == (
        delivery.workspace_id,
        delivery.campaign_id,
        delivery.pk,
    )
    assert (stored.email, stored.kind, stored.status_code) == (
        "ann@example.test",
        "bounced",
        "5.1.1",
    )


def test_the_same_fact_twice_is_stored_once_but_repeats_without_a_key_are_facts(delivery):
    assert record(BOUNCE, delivery=delivery) is not None
    assert record(BOUNCE, delivery=delivery) is None
    opened = Fact(kind=EventKind.OPENED, source=EventSource.LINK)
    record(opened, delivery=delivery)
    record(opened, delivery=delivery)
    assert Event.objects.filter(kind=EventKind.BOUNCED).count() == 1
    assert Event.objects.filter(kind=EventKind.OPENED).count() == 2


def test_a_dedupe_key_is_per_workspace(delivery, personas):
    record(BOUNCE, delivery=delivery)
    other = record(BOUNCE, workspace_id=personas.other_workspace.pk)
    assert other is not None
    assert other.email == ""


def test_an_event_needs_a_delivery_or_a_workspace():
    with pytest.raises(ValueError, match="needs a delivery"):
        record(BOUNCE)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")
def test_events_are_kept_in_monthly_partitions_made_ahead(delivery):
    today = timezone.now().date()
    this_month = EVENTS.partition_name(month_start(today))
    old = timezone.now() - dt.timedelta(days=3 * 366)
    record(Fact(kind=EventKind.OPENED, source=EventSource.LINK), delivery=delivery)
    record(Fact(kind=EventKind.OPENED, source=EventSource.LINK, occurred_at=old), delivery=delivery)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM tracking_event ORDER BY occurred_at")
        assert [row[0] for row in cursor.fetchall()] == ["tracking_event_default", this_month]
    # Housekeeping makes the coming months; a month already made is not made again.
    far = today + dt.timedelta(days=200)
    made = EVENTS.ensure(far, months_ahead=0)
    assert made == [EVENTS.partition_name(month_start(far))]
    assert EVENTS.ensure(far, months_ahead=0) == []
    # A month whose rows landed in the default partition stays there, and inserts go on.
    old_month = month_start(old.date())
    assert EVENTS.ensure(old_month, months_ahead=0) == []
    record(Fact(kind=EventKind.OPENED, source=EventSource.LINK, occurred_at=old), delivery=delivery)
    # Retention drops whole months, not the default partition.
    dropped = EVENTS.drop_before(next_month(today))
    assert dropped == [this_month]
    assert Event.objects.count() == 2  # the two old ones, in the default partition


def test_on_sqlite_nothing_is_partitioned():
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL partitions its events (the test above)")
    assert EVENTS.ensure(timezone.now().date()) == []
    assert EVENTS.drop_before(timezone.now().date()) == []
