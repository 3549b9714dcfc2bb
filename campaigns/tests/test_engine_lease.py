"""A batch whose lease ran out unrenewed stops sending: another worker may have its
deliveries by then, and each message it sent would be a second copy.

Found with several worker hosts (test_multi_host.py): a host cut off from the database and
the mail server for longer than the lease came back and sent the rest of its batch, which the
other hosts had claimed and sent meanwhile (341 duplicates with a 10-second lease and a
30-second cut). Here the cut is the SMTP server holding its reply past the lease while
another worker claims the batch.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import WorkspaceFactory
from campaigns.engine.claim import claim_batch
from campaigns.engine.record import LEASE_LOST, Recorder
from campaigns.engine.step import Engine
from campaigns.models import Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign

LEASE_SECONDS = 2
N = 20


@pytest.mark.django_db(transaction=True)
def test_a_batch_stalled_past_its_lease_sends_nothing_another_worker_claimed(smtp_sink, settings):
    settings.DELIVERY_LEASE_SECONDS = LEASE_SECONDS
    settings.SENDING_TIMEOUT = 30  # the client waits out the stall, as over a cut link
    settings.SENDING_CONNECTIONS_PER_ACCOUNT = 1
    setup = make_campaign(WorkspaceFactory.create(), smtp_sink, n=N)
    campaign_start(campaign=setup.campaign)
    smtp_sink.tarpit("dot", seconds=60)
    taken: list[int] = []

    def other_worker() -> None:
        try:
            deadline = time.monotonic() + 20
            while smtp_sink.held == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(LEASE_SECONDS + 0.5)  # the stalled batch's lease is over
            claimed = claim_batch(
                worker="other", limit=100, now=timezone.now(), lease=timedelta(minutes=10)
            )
            taken.extend(d.pk for d in claimed)
        finally:
            smtp_sink.release()
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        Engine(batch_size=100).step()
    finally:
        thread.join(timeout=30)

    assert len(taken) >= N - 2, taken  # the other worker had the batch
    # Only what was on the wire when the server stalled went out: the held message and the
    # one pipelined behind it. Before the fix the batch went on and sent all of them.
    received = [m.rcpt_tos[0] for m in smtp_sink.messages]
    assert len(received) <= 2, received
    # Nothing the stalled worker wrote replaced the other worker's hold.
    held = Delivery.objects.filter(pk__in=taken)
    assert set(held.values_list("lease_owner", flat=True)) == {"other"}
    assert set(held.values_list("status", flat=True)) == {DeliveryStatus.SENDING}


@pytest.mark.django_db
def test_a_recorder_says_its_lease_is_lost_once_the_lease_is_nearly_over(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    campaign_start(campaign=setup.campaign)
    lease = timedelta(seconds=30)
    now = timezone.now()
    fresh = claim_batch(worker="w", limit=1, now=now, lease=lease)
    assert (
        Recorder(worker="w", deliveries=fresh, lease=lease, started=now).stopped_as(
            setup.campaign.pk
        )
        is None
    )
    # Claimed 28 s ago: 2 s of the lease are left, less than its margin.
    old = claim_batch(worker="w", limit=1, now=now, lease=lease)
    stale = Recorder(worker="w", deliveries=old, lease=lease, started=now - timedelta(seconds=28))
    assert stale.stopped_as(setup.campaign.pk) == LEASE_LOST


@pytest.mark.django_db
def test_a_renewal_that_finds_a_delivery_taken_stops_the_batch(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    campaign_start(campaign=setup.campaign)
    lease = timedelta(seconds=3)
    now = timezone.now()
    batch = claim_batch(worker="w", limit=3, now=now, lease=lease)
    recorder = Recorder(worker="w", deliveries=batch, lease=lease, started=now)
    # Another worker took one of them (its lease had run out, by its clock).
    Delivery.objects.filter(pk=batch[0].pk).update(lease_owner="other")
    recorder.renewed_at -= lease.total_seconds()  # a renewal is due
    recorder.flush()
    assert recorder.stopped_as(setup.campaign.pk) == LEASE_LOST
