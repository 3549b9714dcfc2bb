"""The log's first page reads about a page of attempts even when PostgreSQL's statistics say
the month's partition is empty.

Found under load: a new month's partition, or one that autovacuum has not analysed while a
campaign fills it, is believed to hold a few rows. The page's query then started from the
campaigns and read every attempt of the campaign through a BitmapAnd, then sorted them: 140 to
220 ms a page with 50,000 attempts, at every view of the log and every poll of it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.models import Attempt, AttemptOutcome, Delivery
from campaigns.selectors import PAGE_SIZE, AttemptFilter, attempts_page
from campaigns.tests.factories import CampaignFactory, DeliveryFactory
from core.testing.plans import believe_empty, can_believe_empty, reads_recorded

pytestmark = pytest.mark.django_db

ATTEMPTS = 3000


def _attempts_tables() -> list[str]:
    """The attempts' table and, on a partitioned one, each month's partition."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'campaigns_attempt'::regclass"
        )
        return ["campaigns_attempt", *(name for (name,) in cursor.fetchall())]


def _fill(personas) -> tuple[int, int]:
    """A campaign with ATTEMPTS attempts, one a delivery, all this minute; and another
    campaign of the same workspace with a few. Returns both campaigns' ids."""
    workspace = personas.workspace
    big = CampaignFactory.create(workspace=workspace)
    small = CampaignFactory.create(workspace=workspace)
    now = timezone.now()
    for campaign, count in ((big, ATTEMPTS), (small, 5)):
        first = DeliveryFactory.create(campaign=campaign)
        deliveries = [
            first,
            *Delivery.objects.bulk_create(
                Delivery(
                    campaign=campaign,
                    workspace_id=workspace.pk,
                    email=f"c{campaign.pk}-{i}@example.test",
                    next_attempt_at=now,
                )
                for i in range(1, count)
            ),
        ]
        Attempt.objects.bulk_create(
            Attempt(
                workspace_id=workspace.pk,
                campaign_id=campaign.pk,
                delivery_id=delivery.pk,
                email=delivery.email,
                outcome=AttemptOutcome.SENT,
                created_at=now,
            )
            for delivery in deliveries
        )
    return big.pk, small.pk


def _read_by(call) -> int:
    """Attempts the statements of `call` read, over the table and its partitions."""
    with reads_recorded(*_attempts_tables()) as reads:
        call()
    assert reads, "no statement read the attempts"
    return sum(reads)


@pytest.mark.parametrize("by_campaign", [False, True], ids=["whole log", "one campaign"])
def test_the_logs_pages_read_a_page_of_attempts_whatever_the_statistics(personas, by_campaign):
    if not can_believe_empty():
        pytest.skip("needs PostgreSQL and a superuser to set the planner's statistics")
    big, _ = _fill(personas)
    flt = AttemptFilter(campaign_id=big) if by_campaign else AttemptFilter()
    believe_empty(*_attempts_tables())

    first = attempts_page(personas.workspace, flt)
    assert len(first.rows) == PAGE_SIZE
    assert first.next_cursor
    assert _read_by(lambda: attempts_page(personas.workspace, flt)) <= 3 * PAGE_SIZE
    assert (
        _read_by(lambda: attempts_page(personas.workspace, flt, first.next_cursor)) <= 3 * PAGE_SIZE
    )


@pytest.mark.parametrize("by_campaign", [False, True], ids=["whole log", "one campaign"])
def test_the_apis_pages_of_attempts_read_a_page_whatever_the_statistics(
    personas, api_for, by_campaign
):
    if not can_believe_empty():
        pytest.skip("needs PostgreSQL and a superuser to set the planner's statistics")
    big, _ = _fill(personas)
    api = api_for("viewer")
    params = {"page_size": PAGE_SIZE, **({"campaign_id": big} if by_campaign else {})}
    believe_empty(*_attempts_tables())

    with reads_recorded(*_attempts_tables()) as reads:
        first = api.get("/api/attempts/", params).json()
    assert len(first["results"]) == PAGE_SIZE
    assert first["next"]
    assert reads
    assert sum(reads) <= 3 * PAGE_SIZE
    with reads_recorded(*_attempts_tables()) as reads:
        second = api.get(first["next"]).json()
    assert len(second["results"]) == PAGE_SIZE
    assert reads
    assert sum(reads) <= 3 * PAGE_SIZE


def test_one_deliverys_attempts_are_found_by_its_own_index(personas, api_for):
    """The delivery filter leaves the planner free to sort: walking the workspace's index in
    order for one delivery would read every attempt newer than its own."""
    if connection.vendor != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    big, _ = _fill(personas)
    oldest = Attempt.objects.filter(campaign_id=big).earliest("id")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_attempt")  # undone with the test's transaction

    with reads_recorded(*_attempts_tables()) as reads:
        found = attempts_page(personas.workspace, AttemptFilter(delivery_id=oldest.delivery_id))
    assert [a.pk for a in found.rows] == [oldest.pk]
    assert reads
    assert sum(reads) <= 3
    with reads_recorded(*_attempts_tables()) as reads:
        answer = api_for("viewer").get("/api/attempts/", {"delivery_id": oldest.delivery_id})
    assert [a["id"] for a in answer.json()["results"]] == [oldest.pk]
    assert reads
    assert sum(reads) <= 3
