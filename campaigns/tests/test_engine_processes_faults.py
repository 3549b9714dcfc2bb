"""The database failing under real worker processes: messages never mix, nothing is lost.

Two ways PostgreSQL goes away in production: a backend is terminated (an administrator, a
failover, a pooler), or the server restarts. Both are done for real here, repeatedly, while a
worker sends a campaign over pipelined connections to the SMTP test server; afterwards every
message the server received is checked against the database (see `sink_checks`).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from campaigns.engine.record import UNRECORDED_AT_MOST
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests import processes, sink_checks
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

TOTAL = 3000
# What one failure can make go twice: the outcomes a worker has not written (lost when the
# database cannot take them: a chunk being written and the next one), plus one body in flight
# on each connection.
PER_FAILURE = UNRECORDED_AT_MOST + settings.SENDING_CONNECTIONS_PER_ACCOUNT


def worker(sink, tmp_path: Path, name: str, **env: str) -> subprocess.Popen[bytes]:
    return processes.start(
        ["manage.py", "worker", "--idle", "0.1"],
        processes.worker_env(sink, **env),
        tmp_path / f"{name}.log",
    )


def break_while_sending(sink, times: int, every: int, act: Callable[[], None]) -> int:
    """`act` each time `every` more messages have arrived, `times` times; how many done."""
    done = 0
    deadline = time.monotonic() + 120
    while done < times and time.monotonic() < deadline:
        if len(sink.messages) >= every * (done + 1):
            act()
            done += 1
        time.sleep(0.02)
    return done


def assert_nothing_mixed_or_lost(
    sink, emails: dict[int, str], sent: list[tuple[str, str]], failures: int, log: str
) -> None:
    messages = sink.messages
    names = {f"person{i}@example.test": f"Name{i}" for i in range(TOTAL)}
    assert sink_checks.check_messages(messages, emails, names) == [], log[-3000:]
    assert sink_checks.check_sent_are_received(messages, sent) == []
    assert len({m.rcpt_tos[0] for m in messages}) == TOTAL
    assert len(sent) == TOTAL
    extra, mixed = sink_checks.duplicates(messages)
    print(f"\n{failures} failures; {extra} duplicates (bound {failures * PER_FAILURE})")
    assert mixed == []  # a message that went twice went with the same Message-ID
    assert extra <= failures * PER_FAILURE


def test_backends_terminated_again_and_again_mix_no_messages_and_lose_none(
    personas, smtp_sink, tmp_path
):
    processes.require_postgresql()
    smtp_sink.offer_pipelining()
    setup = make_campaign(personas.workspace, smtp_sink, n=TOTAL)
    setup.account.daily_limit = 10 * TOTAL
    setup.account.save(update_fields=["daily_limit"])
    campaign_start(campaign=setup.campaign)

    def terminate_the_workers_backends() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )

    proc = worker(smtp_sink, tmp_path, "worker")
    try:
        failures = break_while_sending(smtp_sink, 8, TOTAL // 10, terminate_the_workers_backends)
        processes.wait_until(lambda: finished(setup.campaign), 240, "the campaign to complete")
    finally:
        processes.stop(proc)
    log = (tmp_path / "worker.log").read_text()
    assert failures == 8
    assert "failed; going on" in log  # the worker did meet the failures
    emails = dict(Delivery.objects.values_list("pk", "email"))
    sent = list(
        Delivery.objects.filter(status=DeliveryStatus.SENT).values_list("email", "message_id")
    )
    assert_nothing_mixed_or_lost(smtp_sink, emails, sent, failures, log)
    setup.account.refresh_from_db()  # counted once each, plus what really went twice
    assert TOTAL <= setup.account.sent_today <= len(smtp_sink.messages)


@pytest.mark.timeout(600)
def test_a_postgresql_restarted_mid_campaign_mixes_no_messages_and_loses_none(
    personas, smtp_sink, tmp_path
):
    processes.require_postgresql()
    smtp_sink.offer_pipelining()
    setup = make_campaign(personas.workspace, smtp_sink, n=TOTAL)
    setup.account.daily_limit = 10 * TOTAL
    setup.account.save(update_fields=["daily_limit"])
    campaign_start(campaign=setup.campaign)
    server = processes.PrivatePostgres()
    try:
        server.copy_database(processes.database_url(), "postroom")
        url = server.url("postroom")

        def restart(mode: str) -> Callable[[], None]:
            def act() -> None:
                server.stop(mode)
                time.sleep(1)  # the worker meets a server that is not there
                server.start()

            return act

        proc = worker(smtp_sink, tmp_path, "worker", DATABASE_URL=url)
        try:
            failures = break_while_sending(smtp_sink, 1, TOTAL // 4, restart("fast"))
            failures += break_while_sending(smtp_sink, 1, TOTAL // 2, restart("immediate"))
            processes.wait_until(
                lambda: private_status(url) == CampaignStatus.COMPLETED,
                300,
                "the campaign to complete",
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            processes.stop(proc)
        log = (tmp_path / "worker.log").read_text()
        assert failures == 2
        with psycopg.connect(url) as db:
            emails: dict[int, str] = dict(
                db.execute("SELECT id, email FROM campaigns_delivery").fetchall()
            )
            sent = db.execute(
                "SELECT email, message_id FROM campaigns_delivery WHERE status = 'sent'"
            ).fetchall()
            counted = db.execute("SELECT sent_today FROM sending_sendingaccount").fetchone()
    finally:
        server.close()
    assert_nothing_mixed_or_lost(smtp_sink, emails, sent, failures, log)
    assert counted is not None
    assert TOTAL <= counted[0] <= len(smtp_sink.messages)


def finished(campaign: Campaign) -> bool:
    campaign.refresh_from_db()
    return campaign.status == CampaignStatus.COMPLETED


def private_status(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=2) as db:
            row = db.execute("SELECT status FROM campaigns_campaign").fetchone()
    except psycopg.OperationalError:
        return None
    return None if row is None else str(row[0])


def test_the_room_of_workers_killed_mid_campaign_goes_back_to_the_account(
    personas, smtp_sink, tmp_path
):
    """Two workers killed with SIGKILL mid-campaign, then one started: the account's count
    for the day ends at what was sent, not at what the dead had reserved."""
    processes.require_postgresql()
    smtp_sink.offer_pipelining()
    setup = make_campaign(personas.workspace, smtp_sink, n=TOTAL)
    setup.account.daily_limit = 10 * TOTAL
    setup.account.save(update_fields=["daily_limit"])
    campaign_start(campaign=setup.campaign)
    first = [worker(smtp_sink, tmp_path, f"dead{i}") for i in range(2)]
    try:
        processes.wait_until(lambda: len(smtp_sink.messages) >= TOTAL // 3, 180, "a third sent")
    finally:
        for proc in first:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    proc = worker(smtp_sink, tmp_path, "after")
    try:
        processes.wait_until(lambda: finished(setup.campaign), 240, "the campaign to complete")
    finally:
        processes.stop(proc)
    setup.account.refresh_from_db()
    received = len(smtp_sink.messages)
    print(f"\n{received} messages received; counted for the day: {setup.account.sent_today}")
    # Each recipient counted once, plus at most the dead workers' sends that they had not
    # recorded (sent again, so counted again); never the room they held and did not use.
    assert TOTAL <= setup.account.sent_today <= received
