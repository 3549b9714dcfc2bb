"""The engine's promises with real worker processes on PostgreSQL and the SMTP test server."""

from collections import Counter

import pytest
from django.conf import settings

from campaigns.engine.record import UNRECORDED_AT_MOST
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests import processes
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)


TOTAL = int(__import__("os").environ.get("POSTROOM_KILL_TEST_RECIPIENTS", "20000"))


def finished(campaign: Campaign) -> bool:
    campaign.refresh_from_db()
    return campaign.status == CampaignStatus.COMPLETED


def test_an_embedded_and_a_celery_worker_share_a_campaign_without_duplicates(
    personas, smtp_sink, tmp_path
):
    """Promise 2: two workers of both kinds on one campaign; no recipient gets two messages."""
    processes.require_postgresql()
    broker = processes.redis_url()
    setup = make_campaign(personas.workspace, smtp_sink, n=600)
    campaign_start(campaign=setup.campaign)
    env = processes.worker_env(smtp_sink, CELERY_BROKER_URL=broker, CELERY_ENGINE_INTERVAL="0.5")
    celery = processes.start(
        ["-m", "celery", "-A", "postroom", "worker", "-B", "-P", "solo",
         "--without-gossip", "--without-mingle", "-s", str(tmp_path / "beat-schedule"),
         "--loglevel", "INFO"],
        env, tmp_path / "celery.log",
    )  # fmt: skip
    embedded = processes.start(
        ["manage.py", "worker", "--idle", "0.1"], env, tmp_path / "embedded.log"
    )
    try:
        processes.wait_until(lambda: finished(setup.campaign), 180, "the campaign to complete")
    finally:
        processes.stop(celery, embedded)
    logs = (tmp_path / "celery.log").read_text() + (tmp_path / "embedded.log").read_text()
    received = Counter(m.rcpt_tos[0] for m in smtp_sink.messages)
    assert len(received) == 600, logs[-3000:]
    assert max(received.values()) == 1, [r for r, n in received.items() if n > 1][:5]
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 600
    assert "campaigns.engine_pass" in logs  # the Celery worker really took part


# Its own waits add up to 480 s (a third sent, then the rest), beyond the default timeout.
@pytest.mark.timeout(600)
def test_a_worker_killed_mid_campaign_loses_nothing_and_duplicates_only_what_was_in_flight(
    personas, smtp_sink, tmp_path
):
    """Promise 1: SIGKILL in the middle of 20,000 recipients, then a restart."""
    import signal

    processes.require_postgresql()
    setup = make_campaign(personas.workspace, smtp_sink, n=TOTAL)
    # Room reserved by the killed worker is never given back (the count errs on the safe
    # side), so the account needs more than TOTAL for the day.
    setup.account.daily_limit = 10 * TOTAL
    setup.account.save(update_fields=["daily_limit"])
    campaign_start(campaign=setup.campaign)
    env = processes.worker_env(smtp_sink)
    first = processes.start(["manage.py", "worker", "--idle", "0.1"], env, tmp_path / "1.log")
    try:
        processes.wait_until(lambda: len(smtp_sink.messages) >= TOTAL // 3, 180, "a third sent")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    at_kill = len(smtp_sink.messages)
    second = processes.start(["manage.py", "worker", "--idle", "0.1"], env, tmp_path / "2.log")
    try:
        processes.wait_until(lambda: finished(setup.campaign), 300, "the campaign to complete")
    except AssertionError:
        states = Counter(Delivery.objects.values_list("status", flat=True))
        raise AssertionError(
            f"{states}; {len(smtp_sink.messages)} received; "
            + (tmp_path / "2.log").read_text()[-2000:]
        ) from None
    finally:
        processes.stop(second)

    received = Counter(m.rcpt_tos[0] for m in smtp_sink.messages)
    duplicates = {rcpt: n for rcpt, n in received.items() if n > 1}
    # What the killed worker had sent but not yet recorded (a chunk being written and the
    # next one filling), plus one message in flight on each of its connections to the account.
    in_flight_bound = UNRECORDED_AT_MOST + settings.SENDING_CONNECTIONS_PER_ACCOUNT
    extra = sum(duplicates.values()) - len(duplicates)
    print(f"\nkilled after {at_kill} messages; duplicates: {extra} (bound {in_flight_bound})")
    assert len(received) == TOTAL
    assert sum(n - 1 for n in duplicates.values()) <= in_flight_bound
    ids: dict[str, set[str]] = {}
    for message in smtp_sink.messages:
        if message.rcpt_tos[0] in duplicates:
            ids.setdefault(message.rcpt_tos[0], set()).add(message.message_id)
    assert all(len(found) == 1 for found in ids.values())  # the same Message-ID each time
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == TOTAL


# As production runs them (README, compose.yaml): a worker with its default (prefork) pool and a
# beat of its own.
CELERY_WORKER = [
    "-m", "celery", "-A", "postroom", "worker", "--concurrency", "2",
    "--without-gossip", "--without-mingle", "--loglevel", "INFO",
]  # fmt: skip
CELERY_BEAT = ["-m", "celery", "-A", "postroom", "beat", "--loglevel", "INFO"]


@pytest.mark.timeout(420)
def test_a_celery_worker_resumes_sending_by_itself_after_a_15_second_broker_outage(
    personas, smtp_sink, tmp_path
):
    """Item: the broker restarts mid-campaign; the worker (with its beat) must not exit, and
    sending must go on without anyone restarting anything."""
    import time

    processes.require_postgresql()
    broker = processes.PrivateRedis(tmp_path)
    broker.start()
    setup = make_campaign(personas.workspace, smtp_sink, n=40)
    # One message a second: the campaign outlasts the outage by far.
    setup.account.min_interval_seconds = 1
    setup.account.save(update_fields=["min_interval_seconds"])
    campaign_start(campaign=setup.campaign)
    env = processes.worker_env(
        smtp_sink,
        CELERY_BROKER_URL=broker.url,
        CELERY_ENGINE_INTERVAL="0.5",
        CELERY_ENGINE_PASS_SECONDS="1",
    )
    log = tmp_path / "celery.log"
    celery = processes.start(CELERY_WORKER, env, log)
    beat_log = tmp_path / "beat.log"
    beat = processes.start([*CELERY_BEAT, "-s", str(tmp_path / "beat-schedule")], env, beat_log)
    try:
        processes.wait_until(lambda: len(smtp_sink.messages) >= 3, 120, "sending to start")
        broker.stop()
        time.sleep(15)
        assert celery.poll() is None, (
            "the worker exited while the broker was down:\n" + (log.read_text()[-4000:])
        )
        before = len(smtp_sink.messages)
        assert before < 40, "the campaign ended before the outage mattered"
        broker.start()
        processes.wait_until(
            lambda: len(smtp_sink.messages) >= before + 3 or celery.poll() is not None,
            120,
            "sending to resume after the broker came back",
        )
        assert celery.poll() is None, (
            "the worker exited after the broker came back:\n" + (log.read_text()[-4000:])
        )
        processes.wait_until(lambda: finished(setup.campaign), 180, "the campaign to complete")
    finally:
        processes.stop(celery, beat)
        broker.stop()
    received = Counter(m.rcpt_tos[0] for m in smtp_sink.messages)
    assert len(received) == 40
    assert max(received.values()) == 1
