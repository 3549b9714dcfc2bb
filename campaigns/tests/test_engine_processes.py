"""The engine's promises with real worker processes on PostgreSQL and the SMTP test server."""

from collections import Counter

import pytest

from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests import processes
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)


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
        ["-m", "celery", "-A", "postroom", "worker", "-B", "-P", "solo", "-Q", "postroom",
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
