"""A campaign's deliveries per status are counted from the index (campaign, status) alone.

With COUNT(id) the id had to come from the table: a campaign of 1,000,000 deliveries among
10,000,000 (bench/bench_pages.py) was counted by reading the whole table, 750 ms for its page;
COUNT(*) is an index-only scan of its own entries, 75 ms.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns import selectors
from campaigns.tests.factories import CampaignFactory, DeliveryFactory

pytestmark = pytest.mark.django_db


def _counted(campaign_ids: list[int]) -> tuple[dict[int, dict[str, int]], str]:
    with CaptureQueriesContext(connection) as queries:
        counts = selectors.status_counts_many(campaign_ids)
    (sql,) = [q["sql"] for q in queries]
    return counts, sql


def test_status_counts_count_rows_not_ids(personas):
    campaign = CampaignFactory.create(workspace=personas.workspace)
    DeliveryFactory.create_batch(2, campaign=campaign)
    DeliveryFactory.create(campaign=campaign, status="sent")

    counts, sql = _counted([campaign.pk])

    assert counts == {campaign.pk: {"queued": 2, "sent": 1}}
    assert "COUNT(*)" in sql, sql


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are PostgreSQL's")
def test_status_counts_read_the_index_only(personas):
    campaign = CampaignFactory.create(workspace=personas.workspace)
    DeliveryFactory.create_batch(3, campaign=campaign)
    _, sql = _counted([campaign.pk])
    with connection.cursor() as cursor:
        # A tiny table is read whole whatever its indexes: price that out, and ask what the
        # planner can do instead. With COUNT(id) it cannot skip the table's rows.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Only Scan using delivery_campaign_status" in plan, plan
