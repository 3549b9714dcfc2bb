"""Launch: the audience becomes deliveries in one statement, with who was left out and why."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audience.models import (
    Recipient,
    RecipientStatus,
    Suppression,
)
from audience.tests.factories import RecipientListFactory, SegmentFactory
from campaigns.engine.launch import audience_count, launch
from campaigns.models import Delivery, DeliveryStatus
from campaigns.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def recipients(workspace, n, prefix="r", **extra):
    return Recipient.objects.bulk_create(
        [
            Recipient(workspace=workspace, email=f"{prefix}{i}@example.test", **extra)
            for i in range(n)
        ]
    )


def listed(workspace, name, members):
    return RecipientListFactory.create(workspace=workspace, name=name, members=members)


@pytest.fixture
def campaign(personas):
    return CampaignFactory.create(workspace=personas.workspace, name="Spring", bare=True)


def test_lists_segments_and_picks_are_united_and_the_left_out_counted(personas, campaign):
    ws = personas.workspace
    a = recipients(ws, 10, "a")
    b = recipients(ws, 5, "b", company="Initech")
    inactive = recipients(ws, 2, "u", status=RecipientStatus.UNSUBSCRIBED)
    Suppression.objects.create(workspace=ws, email="a0@example.test", reason="manual")
    campaign.lists.add(listed(ws, "A", [*a, *inactive]))
    campaign.lists.add(listed(ws, "A2", a[:3]))  # overlaps with A: 3 duplicates
    segment = SegmentFactory.create(
        workspace=ws,
        name="Initech",
        definition={
            "match": "all",
            "conditions": [{"field": "company", "op": "equals", "value": "Initech"}],
        },
    )
    campaign.segments.add(segment)
    campaign.picked = {"ids": [a[1].pk, b[0].pk]}  # both already selected: 2 duplicates
    campaign.save()

    count = audience_count(campaign)
    assert count.reachable == 14  # 10 + 5 - 1 suppressed
    assert count.suppressed == 1
    assert count.unsubscribed == 2
    assert count.duplicates == 5

    result = launch(campaign=campaign, now=timezone.now())
    assert result.inserted == 14
    emails = set(Delivery.objects.filter(campaign=campaign).values_list("email", flat=True))
    assert "a0@example.test" not in emails
    assert "u0@example.test" not in emails
    assert len(emails) == 14
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.QUEUED}
    campaign.refresh_from_db()
    assert (campaign.audience_total, campaign.excluded_duplicates) == (14, 5)


def test_launching_twice_creates_nothing_twice(personas, campaign):
    campaign.lists.add(listed(personas.workspace, "L", recipients(personas.workspace, 7)))
    assert launch(campaign=campaign, now=timezone.now()).inserted == 7
    assert launch(campaign=campaign, now=timezone.now()).inserted == 0
    assert Delivery.objects.count() == 7


def test_another_workspaces_recipients_never_join(personas, campaign):
    foreign = recipients(personas.other_workspace, 3, "x")
    foreign_list = listed(personas.other_workspace, "Theirs", foreign)
    campaign.lists.add(foreign_list)  # even if a foreign list were attached somehow
    campaign.picked = {"ids": [r.pk for r in foreign]}
    campaign.save()
    assert launch(campaign=campaign, now=timezone.now()).inserted == 0


@pytest.mark.parametrize("size", [10, 300])
def test_launch_costs_the_same_statements_whatever_the_audience_size(personas, campaign, size):
    campaign.lists.add(listed(personas.workspace, "L", recipients(personas.workspace, size)))
    with CaptureQueriesContext(connection) as queries:
        launch(campaign=campaign, now=timezone.now())
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert len(queries.captured_queries) <= 12
    assert Delivery.objects.count() == size
