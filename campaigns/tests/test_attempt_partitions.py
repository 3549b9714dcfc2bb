"""Attempts are kept by month on PostgreSQL (a plain table on SQLite), through the migration
that partitioned a table already holding them, and forgotten past their retention."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Attempt, CampaignStatus, Delivery, DeliveryStatus
from campaigns.partitions import ATTEMPTS, forget_old_attempts
from campaigns.selectors import list_counts, status_counts_many
from campaigns.services import campaigns_freeze_counts
from campaigns.tests.factories import AttemptFactory, CampaignFactory, DeliveryFactory
from core.partitions import forget_before, month_start, months_before, next_month
from core.testing.migrations import migrate
from tracking.reports import campaign_summary

pytestmark = pytest.mark.django_db(transaction=True)

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="partitions are PostgreSQL's"
)
BEFORE = ("campaigns", "0019_delivery_recipient_unchecked")
AFTER = ("campaigns", "0020_attempt_partitions")


@pytest.fixture
def delivery(personas) -> Delivery:
    campaign = CampaignFactory.create(workspace=personas.workspace)
    return DeliveryFactory.create(campaign=campaign)


def attempt(delivery: Delivery, at: dt.datetime) -> Attempt:
    return AttemptFactory.create(delivery=delivery, created_at=at)


def table_of(row: Attempt) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM campaigns_attempt WHERE id = %s", [row.pk]
        )
        return str(cursor.fetchone()[0])


def monthly_partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'campaigns_attempt'::regclass"
        )
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.usefixtures("every_migration_after")
def test_the_migration_keeps_every_attempt_of_every_month_and_ids_go_on(delivery):
    """Back to the plain table of 0019 (the reversal keeps the rows too), attempts of several
    months, then forward: all there, each in its month's partition on PostgreSQL."""
    migrate([BEFORE])
    now = timezone.now()
    ages = (400, 70, 35, 0)  # days back: four different months
    rows = [attempt(delivery, now - dt.timedelta(days=days)) for days in ages]
    migrate([AFTER])
    kept = Attempt.objects.order_by("created_at").values_list("id", "created_at")
    assert list(kept) == [(r.pk, r.created_at) for r in rows]
    if connection.vendor == "postgresql":
        for row in rows:
            assert table_of(row) == ATTEMPTS.partition_name(month_start(row.created_at.date()))
    later = attempt(delivery, now)
    assert later.pk > max(r.pk for r in rows)
    assert Attempt.objects.count() == len(rows) + 1


@postgresql_only
def test_the_attempt_table_is_partitioned_with_its_key_indexes_and_no_foreign_key():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partstrat FROM pg_partitioned_table "
            "WHERE partrelid = 'campaigns_attempt'::regclass"
        )
        assert cursor.fetchone() == ("r",)
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'campaigns_attempt'::regclass AND contype IN ('p', 'f') "
            "ORDER BY contype DESC"
        )
        primary, *foreign = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'campaigns_attempt'")
        indexes = {row[0] for row in cursor.fetchall()}
    assert primary == "PRIMARY KEY (id, created_at)"
    assert foreign == []  # checked per message at commit (test_engine_account_gone.py)
    assert {"attempt_ws_time", "attempt_campaign_time", "attempt_delivery"} <= indexes
    assert "campaigns_attempt_default" in monthly_partitions()


@postgresql_only
def test_retention_drops_the_months_before_the_cut_and_keeps_the_rest(
    delivery, personas, owner_client
):
    today = timezone.now().date()
    cut = months_before(today, 2)
    old_month = months_before(today, 4)
    ATTEMPTS.ensure(old_month, months_ahead=0)
    ATTEMPTS.ensure(cut, months_ahead=0)

    def at(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)

    old = attempt(delivery, at(old_month))
    ancient = attempt(delivery, at(months_before(today, 40)))  # no partition made: the default
    first_kept = attempt(delivery, at(cut))
    recent = attempt(delivery, timezone.now())
    assert table_of(old) == ATTEMPTS.partition_name(old_month)
    assert table_of(ancient) == "campaigns_attempt_default"
    assert table_of(first_kept) == ATTEMPTS.partition_name(cut)

    forgotten = forget_old_attempts(today=today, months=2)

    assert ATTEMPTS.partition_name(old_month) in forgotten.months
    assert all(name < ATTEMPTS.partition_name(cut) for name in forgotten.months)
    assert forgotten.rows == 1  # the ancient one, from the default partition
    left = monthly_partitions()
    assert not left & set(forgotten.months)
    assert {
        "campaigns_attempt_default",
        ATTEMPTS.partition_name(cut),
        ATTEMPTS.partition_name(month_start(today)),
    } <= left
    assert set(Attempt.objects.values_list("pk", flat=True)) == {first_kept.pk, recent.pk}
    # The log page and the API read what is kept.
    page = owner_client.get(reverse("campaigns:logs")).content.decode()
    assert page.count("data-outcome=") == 2
    listed = owner_client.get("/api/attempts/").json()
    assert {row["id"] for row in listed["results"]} == {first_kept.pk, recent.pk}
    # Inserts go on, old months included (into the default partition).
    attempt(delivery, at(old_month))
    assert Attempt.objects.count() == 3


@postgresql_only
def test_a_drop_waiting_behind_a_long_read_gives_up_and_the_next_one_drops():
    month = months_before(timezone.now().date(), 6)
    ATTEMPTS.ensure(month, months_ahead=0)
    reader = connections.create_connection("default")  # another session, reading the table
    try:
        reader.set_autocommit(False)
        with reader.cursor() as cursor:
            cursor.execute("LOCK TABLE campaigns_attempt IN ACCESS SHARE MODE")
        assert ATTEMPTS.drop_before(next_month(month), lock_timeout_ms=100) == []
    finally:
        reader.rollback()
        reader.close()
    assert ATTEMPTS.partition_name(month) in ATTEMPTS.drop_before(next_month(month))


@postgresql_only
def test_a_month_whose_drop_gave_up_is_left_whole_for_the_next_try(delivery):
    """Not deleted row by row instead: that is the long DELETE partitions are there to avoid."""
    month = months_before(timezone.now().date(), 6)
    ATTEMPTS.ensure(month, months_ahead=0)
    row = attempt(delivery, dt.datetime.combine(month, dt.time(12), tzinfo=dt.UTC))
    reader = connections.create_connection("default")
    try:
        reader.set_autocommit(False)
        with reader.cursor() as cursor:
            cursor.execute("LOCK TABLE campaigns_attempt IN ACCESS SHARE MODE")
        forgotten = forget_before(ATTEMPTS, Attempt, next_month(month))
    finally:
        reader.rollback()
        reader.close()
    assert forgotten.months == []
    assert Attempt.objects.filter(pk=row.pk).exists()
    assert table_of(row) == ATTEMPTS.partition_name(month)


def test_retention_deletes_attempts_older_than_the_cut_a_chunk_at_a_time(delivery):
    today = timezone.now().date()
    cut = months_before(today, 3)
    since = dt.datetime.combine(cut, dt.time.min, tzinfo=dt.UTC)
    old = [attempt(delivery, since - dt.timedelta(seconds=1 + n * 86400)) for n in range(5)]
    kept = [attempt(delivery, since), attempt(delivery, timezone.now())]
    assert forget_old_attempts(today=today, months=0).rows == 0  # 0 keeps everything
    assert Attempt.objects.count() == len(old) + len(kept)

    forgotten = forget_before(ATTEMPTS, Attempt, cut, chunk=2)

    if connection.vendor == "sqlite":
        assert forgotten == type(forgotten)([], 5)
    assert set(Attempt.objects.values_list("pk", flat=True)) == {r.pk for r in kept}


def test_a_finished_campaign_keeps_its_counts_and_sent_figure_when_its_attempts_go(personas):
    campaign = CampaignFactory.create(workspace=personas.workspace, status=CampaignStatus.COMPLETED)
    long_ago = timezone.now() - dt.timedelta(days=200)
    for _ in range(3):
        sent = DeliveryFactory.create(
            campaign=campaign, status=DeliveryStatus.SENT, sent_at=long_ago
        )
        attempt(sent, long_ago)
    campaigns_freeze_counts(campaign_ids=[campaign.pk])
    campaign.refresh_from_db()

    def figures() -> tuple[object, ...]:
        return (
            list_counts([campaign]),
            status_counts_many([campaign.pk]),
            campaign_summary(campaign).sent,
        )

    before = figures()
    assert forget_old_attempts(today=timezone.now().date(), months=2) is not None
    assert not Attempt.objects.exists()
    assert figures() == before == ({campaign.pk: {"sent": 3}},) * 2 + (3,)
