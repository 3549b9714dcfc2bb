"""Promise 8: memory does not grow with the audience; the worker's memory stays flat.

The worker process launches the campaign itself (it is scheduled for now), so the peak covers
the launch of every delivery as well as the sending. Memory is read from /proc: the resident
size once the worker has settled into sending, then every half second while it sends, and the
high-water mark at the end. The test prints the figures.

In the suite it runs on 30,000 recipients for a few seconds; `make bench-memory` runs the same
measurement on 1,000,000 recipients for 40 s (POSTROOM_MEMORY_TEST_RECIPIENTS / _SECONDS).
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from audience.models import RecipientList
from campaigns.models import Campaign, CampaignStatus, Delivery
from campaigns.tests import processes
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

AUDIENCE = int(os.environ.get("POSTROOM_MEMORY_TEST_RECIPIENTS", "30000"))
SETTLED_AFTER = 2_000  # messages sent before the baseline is taken (imports, caches, pools)
SEND_SECONDS = float(os.environ.get("POSTROOM_MEMORY_TEST_SECONDS", "6"))
# Allowed growth of the resident size while sending, and the ceiling of the whole run.
GROWTH_MB = 25.0
PEAK_MB = 300.0


def _memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for process {pid}")


def _add_audience(recipient_list: RecipientList, count: int) -> None:
    """`count` recipients on the list, written by the database itself (seconds, not minutes)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audience_recipient (workspace_id, email, first_name, last_name, company,
                country, city, comment, status, fields, created_at, updated_at)
            SELECT %s, 'm' || n || '@million.example.test', 'Name' || n, '', 'Company ' || n %% 997,
                '', '', '', 'active', '{}'::jsonb, %s, %s
            FROM generate_series(1, %s) AS n
            """,
            [recipient_list.workspace_id, now, now, count],
        )
        cursor.execute(
            """
            INSERT INTO audience_listmembership (recipient_list_id, recipient_id, added_at)
            SELECT %s, id, %s FROM audience_recipient
            WHERE workspace_id = %s AND email LIKE '%%@million.example.test'
            """,
            [recipient_list.pk, now, recipient_list.workspace_id],
        )
        cursor.execute("ANALYZE")


@pytest.mark.timeout(900)
def test_a_large_campaign_keeps_the_workers_memory_flat(personas, smtp_sink, tmp_path):
    processes.require_postgresql()
    setup = make_campaign(personas.workspace, smtp_sink, n=1)
    setup.account.daily_limit = 10 * AUDIENCE
    setup.account.save(update_fields=["daily_limit"])
    _add_audience(setup.campaign.lists.get(), AUDIENCE - 1)
    Campaign.objects.filter(pk=setup.campaign.pk).update(
        status=CampaignStatus.SCHEDULED, scheduled_at=timezone.now() - timedelta(seconds=1)
    )
    worker = processes.start(
        ["manage.py", "worker", "--idle", "0.1"],
        processes.worker_env(smtp_sink, DELIVERY_LEASE_SECONDS="60"),
        tmp_path / "worker.log",
    )
    try:
        processes.wait_until(
            lambda: len(smtp_sink.messages) >= SETTLED_AFTER, 300, "the first messages"
        )
        launched = Delivery.objects.filter(campaign=setup.campaign).count()
        baseline = _memory_mb(worker.pid, "VmRSS")
        samples = [baseline]
        deadline = time.monotonic() + SEND_SECONDS
        while time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.5)
            samples.append(_memory_mb(worker.pid, "VmRSS"))
        peak = _memory_mb(worker.pid, "VmHWM")
        sent = len(smtp_sink.messages)
    finally:
        processes.stop(worker)
    log = (tmp_path / "worker.log").read_text()
    print(
        f"\npromise 8: {launched:,} deliveries launched by the worker; {sent:,} sent while "
        f"measured; resident {baseline:.0f} MB settled, {max(samples):.0f} MB highest while "
        f"sending, {samples[-1]:.0f} MB at the end; peak (VmHWM, launch included) {peak:.0f} MB"
        f"\nRESULT recipients={launched} sent={sent} settled_mb={baseline:.0f} "
        f"highest_mb={max(samples):.0f} peak_mb={peak:.0f}"
    )
    assert launched == AUDIENCE, log[-3000:]
    assert sent > SETTLED_AFTER, log[-3000:]  # it really sent while we watched
    assert max(samples) - baseline < GROWTH_MB, samples
    assert peak < PEAK_MB, log[-3000:]
