"""The report's page of deliveries is read from an index of its campaign, not past others'.

Under 200 users (bench/bench_load.py) the first page of a campaign sent after another took
the primary key in order and filtered out the earlier campaign's 100,000 deliveries, a 50 ms
query idle and 300 ms to 560 ms under load; with more campaigns, more rows to skip.
"""

from __future__ import annotations

import pytest
from django.db import connection

from campaigns import selectors
from campaigns.models import Delivery
from campaigns.tests.factories import CampaignFactory, DeliveryFactory

pytestmark = pytest.mark.django_db


def _plan(qs) -> str:
    """The plan of `qs` with sequential scans, bitmaps and sorts priced out: a tiny table is
    read whole whatever its indexes, so ask what the planner could do instead."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        for node in ("seqscan", "bitmapscan", "sort"):
            cursor.execute(f"SET LOCAL enable_{node} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are PostgreSQL's")
@pytest.mark.parametrize("status", ["", "sent"])
def test_a_report_page_reads_its_campaign_deliveries_in_id_order(personas, status):
    workspace = personas.workspace
    earlier = CampaignFactory.create(workspace=workspace)
    # 5,000 deliveries of an earlier campaign, analysed: reading the primary key in order
    # must then skip them all, a cost the planner sees whatever statistics earlier tests
    # left (on two rows each way costs the same, and the planner may take either).
    Delivery.objects.bulk_create(
        Delivery(workspace=workspace, campaign=earlier, email=f"p{n}@example.test")
        for n in range(5_000)
    )
    campaign = CampaignFactory.create(workspace=workspace)
    DeliveryFactory.create_batch(3, campaign=campaign)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_delivery")
    flt = selectors.DeliveryFilter(status=status)
    qs = selectors.deliveries_matching(campaign, flt).order_by("pk")[:51]
    plan = _plan(qs)
    # The campaign bounds the index scan (Index Cond); a Filter on it means every delivery of
    # every campaign is read in id order and thrown away until this campaign's come.
    assert "Index Cond: (campaign_id = " in plan, plan
    assert "Filter: ((campaign_id = " not in plan, plan
    page = selectors.deliveries_page(campaign, flt)
    assert [d.campaign_id for d in page.rows] == [campaign.pk] * (0 if status else 3)
