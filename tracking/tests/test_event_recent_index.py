"""A click's read of its delivery's recent opens and clicks is bounded by time in the index.

With only (delivery, kind) indexed, PostgreSQL read every open and click the delivery ever had
and filtered them by time afterwards: a message opened thousands of times (a shared mailbox,
a forwarding loop, a scanner) made each of its clicks slower than the last.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.models import Delivery
from tracking.models import Event, EventKind, EventSource
from tracking.tests.test_hit_groups import sent_an_hour_ago

pytestmark = pytest.mark.django_db

OLD_EVENTS = 3_000
OTHERS_RECENT = 20_000


def test_a_clicks_recent_events_are_read_by_time_not_filtered_after(personas, smtp_sink):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plans; SQLite's table is small and unpartitioned")
    delivery: Delivery = sent_an_hour_ago(personas, smtp_sink)
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            workspace_id=delivery.workspace_id, campaign_id=delivery.campaign_id,
            delivery=delivery, email=delivery.email, kind=EventKind.OPENED,
            source=EventSource.LINK, occurred_at=now - timedelta(minutes=50, seconds=i % 600),
        )
        for i in range(OLD_EVENTS)
    )  # fmt: skip
    # Others of the campaign opened in the last seconds: its (campaign, kind, time) index does
    # not single this delivery out, so the plan goes by the delivery.
    Event.objects.bulk_create(
        Event(
            workspace_id=delivery.workspace_id, campaign_id=delivery.campaign_id, delivery=None,
            email=f"other{i}@example.test", kind=EventKind.OPENED, source=EventSource.LINK,
            occurred_at=now - timedelta(seconds=i % 20),
        )
        for i in range(OTHERS_RECENT)
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tracking_event")
        cursor.execute(
            "EXPLAIN (ANALYZE, FORMAT TEXT) SELECT e.kind, e.occurred_at FROM tracking_event e "
            "WHERE e.delivery_id = %s AND e.kind IN ('opened', 'clicked') "
            "AND e.occurred_at >= %s AND e.occurred_at <= %s",
            [delivery.pk, now - timedelta(seconds=30), now],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index" in plan, plan
    assert "Rows Removed by Filter" not in plan, plan  # nothing read only to be thrown away
