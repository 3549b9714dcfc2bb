"""Claim under a lease: no delivery is handed to two workers; expired leases come back."""

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audience.models import Recipient
from campaigns.engine.claim import claim, release
from campaigns.engine.retry import RetryPolicy
from campaigns.models import CampaignStatus, Delivery, DeliveryStatus
from campaigns.tests.factories import CampaignFactory

LEASE = timedelta(seconds=60)


def make_deliveries(workspace, n, status=CampaignStatus.RUNNING, name="C"):
    campaign = CampaignFactory.create(workspace=workspace, name=name, status=status, bare=True)
    people = Recipient.objects.bulk_create(  # one insert each: up to 400 rows
        [Recipient(workspace=workspace, email=f"{name}{i}@example.test") for i in range(n)]
    )
    Delivery.objects.bulk_create(
        [
            Delivery(workspace=workspace, campaign=campaign, recipient=r, email=r.email)
            for r in people
        ]
    )
    return campaign


@pytest.mark.django_db
def test_a_claim_leases_due_deliveries_oldest_first(personas):
    make_deliveries(personas.workspace, 5)
    now = timezone.now()
    first = claim(worker="w1", limit=3, now=now, lease=LEASE)
    assert len(first) == 3
    leased = Delivery.objects.filter(pk__in=first)
    assert {d.status for d in leased} == {DeliveryStatus.SENDING}
    assert {d.lease_owner for d in leased} == {"w1"}
    second = claim(worker="w2", limit=10, now=now, lease=LEASE)
    assert len(second) == 2
    assert not set(first) & set(second)


@pytest.mark.django_db
def test_paused_cancelled_and_stopped_campaigns_are_not_claimed(personas):
    make_deliveries(personas.workspace, 2, CampaignStatus.PAUSED, "p")
    make_deliveries(personas.workspace, 2, CampaignStatus.CANCELLED, "c")
    make_deliveries(personas.other_workspace, 2, CampaignStatus.RUNNING, "s")
    personas.other_workspace.sending_stopped_at = timezone.now()
    personas.other_workspace.save()
    assert claim(worker="w", limit=10, now=timezone.now(), lease=LEASE) == []


@pytest.mark.django_db
def test_future_deliveries_wait_and_expired_leases_return(personas):
    campaign = make_deliveries(personas.workspace, 2)
    now = timezone.now()
    Delivery.objects.filter(campaign=campaign).update(next_attempt_at=now + timedelta(hours=1))
    assert claim(worker="w", limit=10, now=now, lease=LEASE) == []

    later = now + timedelta(hours=2)
    ids = claim(worker="crashed", limit=10, now=later, lease=LEASE)
    assert len(ids) == 2
    assert claim(worker="w2", limit=10, now=later + LEASE / 2, lease=LEASE) == []
    again = claim(worker="w2", limit=10, now=later + LEASE * 2, lease=LEASE)
    assert sorted(again) == sorted(ids)
    assert set(Delivery.objects.values_list("lease_owner", flat=True)) == {"w2"}


@pytest.mark.django_db
def test_release_gives_back_only_the_workers_own_leases(personas):
    make_deliveries(personas.workspace, 3)
    now = timezone.now()
    mine = claim(worker="w1", limit=2, now=now, lease=LEASE)
    theirs = claim(worker="w2", limit=1, now=now, lease=LEASE)
    assert release(worker="w1", ids=mine + theirs, now=now) == 2
    assert Delivery.objects.get(pk=theirs[0]).status == DeliveryStatus.SENDING


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent claims need PostgreSQL's row locks"
)
def test_concurrent_claims_never_share_a_delivery(personas):
    make_deliveries(personas.workspace, 400)
    now = timezone.now()
    results: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def work(name: str) -> None:
        got: list[int] = []
        barrier.wait()
        while batch := claim(worker=name, limit=25, now=now, lease=LEASE):
            got += batch
        results[name] = got
        connection.close()

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [i for ids in results.values() for i in ids]
    assert len(claimed) == 400
    assert len(set(claimed)) == 400
    assert sum(1 for ids in results.values() if ids) >= 2  # the work was really shared


def test_backoff_doubles_up_to_the_cap_with_bounded_jitter():
    policy = RetryPolicy(base=timedelta(minutes=5), cap=timedelta(hours=1), jitter=0.2)
    rng = random.Random(7)
    delays = [policy.delay(n, rng) for n in range(1, 8)]
    nominal = [5, 10, 20, 40, 60, 60, 60]
    for delay, minutes in zip(delays, nominal, strict=True):
        assert timedelta(minutes=minutes) * 0.8 <= delay <= timedelta(minutes=minutes) * 1.2
    exact = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(seconds=8), jitter=0)
    assert [exact.delay(n).total_seconds() for n in range(1, 6)] == [1, 2, 4, 8, 8]
