"""The engine's sweep of stopped campaigns reads each delivery a bounded number of times even
when PostgreSQL's statistics say the outbox is empty.

Found in CI: after earlier tests left `campaigns_delivery` analysed with no live rows, the
sweep's UPDATE (Django's `id IN (SELECT … JOIN campaign …)`) was planned as a nested loop
that read the whole outbox once per delivery, about 4 s at every engine step with a few
thousand rows, and a sequence simulation ran past its ten minutes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.engine.claim import sweep_stopped
from campaigns.engine.step import Engine
from campaigns.models import CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from campaigns.tests.factories import CampaignFactory
from core.testing.plans import believe_empty, can_believe_empty, rows_read

pytestmark = pytest.mark.django_db

SENT = 2000
STALE = 20


def _deliveries(campaign, status: str, count: int, lease_expires_at=None) -> None:
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(
            campaign=campaign,
            workspace_id=campaign.workspace_id,
            email=f"c{campaign.pk}-{i}@example.test",
            status=status,
            next_attempt_at=now,
            lease_owner="gone" if lease_expires_at else "",
            lease_expires_at=lease_expires_at,
        )
        for i in range(count)
    )


def test_the_sweep_reads_each_delivery_a_few_times_whatever_the_statistics(personas):
    if not can_believe_empty():
        pytest.skip("needs PostgreSQL and a superuser to set the planner's statistics")
    workspace = personas.workspace
    expired = timezone.now() - timedelta(minutes=5)
    running = CampaignFactory.create(workspace=workspace, status=CampaignStatus.RUNNING)
    cancelled = CampaignFactory.create(workspace=workspace, status=CampaignStatus.CANCELLED)
    paused = CampaignFactory.create(workspace=workspace, status=CampaignStatus.PAUSED)
    _deliveries(running, DeliveryStatus.SENT, SENT)
    _deliveries(running, DeliveryStatus.SENDING, STALE, expired)  # claim takes these back
    _deliveries(cancelled, DeliveryStatus.SENDING, STALE, expired)
    _deliveries(paused, DeliveryStatus.SENDING, STALE, expired)
    believe_empty("campaigns_delivery", "campaigns_campaign")

    now = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        savepoint = transaction.savepoint()
        sweep_stopped(now=now)
        transaction.savepoint_rollback(savepoint)
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    read = {sql: rows_read(sql, "campaigns_delivery") for sql in statements}
    total = SENT + 3 * STALE
    assert sum(read.values()) <= 4 * total, read

    assert sweep_stopped(now=now) == 2 * STALE
    by_campaign = Delivery.objects.values_list("campaign_id", "status")
    assert set(by_campaign.filter(campaign=cancelled)) == {(cancelled.pk, DeliveryStatus.CANCELLED)}
    assert set(by_campaign.filter(campaign=paused)) == {(paused.pk, DeliveryStatus.QUEUED)}
    assert Delivery.objects.filter(campaign=running, status=DeliveryStatus.SENDING).count() == STALE


def _outbox_self_joins(sql: list[str]) -> list[str]:
    """The UPDATEs and DELETEs of the outbox that read it again in a subquery."""
    found = []
    for statement in sql:
        verb = statement.lstrip().split(" ", 1)[0].upper()
        reads = statement.count('FROM "campaigns_delivery"')
        if (verb == "UPDATE" and reads > 0) or (verb == "DELETE" and reads > 1):
            found.append(statement)
    return found


def test_no_engine_statement_rewrites_the_outbox_through_a_join_on_itself(personas, smtp_sink):
    """The shape behind the slow sweep, checked for a whole engine round: a sending campaign,
    and stale leases of a paused and a cancelled one to sweep."""
    workspace = personas.workspace
    setup = make_campaign(workspace, smtp_sink, n=5)
    campaign_start(campaign=setup.campaign)
    expired = timezone.now() - timedelta(minutes=5)
    for status in (CampaignStatus.PAUSED, CampaignStatus.CANCELLED):
        stopped = CampaignFactory.create(workspace=workspace, status=status)
        _deliveries(stopped, DeliveryStatus.SENDING, 2, expired)
    with CaptureQueriesContext(connection) as queries:
        while Engine(batch_size=10).step():
            pass
    assert len(smtp_sink.messages) == 5
    assert not Delivery.objects.filter(status=DeliveryStatus.SENDING).exists()
    assert _outbox_self_joins([q["sql"] for q in queries.captured_queries]) == []
