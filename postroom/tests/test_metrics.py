"""/metrics: a campaign sent through the real SMTP sink, read back with Prometheus's own parser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from campaigns.engine.step import Engine
from campaigns.models import Delivery, DeliveryStatus, WorkerHeartbeat
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db
TOKEN = "scrape-token-0123456789"


@pytest.fixture(autouse=True)
def _metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    settings.SENDING_TIMEOUT = 5
    settings.SENDING_HELO_NAME = "worker.postroom.test"
    settings.SITE_URL = "https://mail.example.test"


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return float(samples.get((name, tuple(sorted(labels.items()))), 0.0))


def test_a_campaign_being_sent_in_the_metrics(client, personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=5)
    campaign_start(campaign=setup.campaign)
    # One delivery waits for later: waiting but not due.
    later = Delivery.objects.filter(campaign=setup.campaign).order_by("id").last()
    assert later is not None
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    Delivery.objects.exclude(pk=later.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=90)
    )
    WorkerHeartbeat.objects.create(
        name="host-1", kind="embedded", seen_at=timezone.now() - timedelta(seconds=30)
    )

    before = scrape(client)
    assert value(before, "postroom_deliveries_waiting", campaign_status="running") == 5
    assert value(before, "postroom_deliveries_due", campaign_status="running") == 4
    assert value(before, "postroom_deliveries_waiting", campaign_status="paused") == 0
    assert value(before, "postroom_campaigns", status="running") == 1
    assert 90 <= value(before, "postroom_oldest_due_age_seconds") < 3600
    assert (
        value(before, "postroom_worker_last_seen_seconds", worker="host-1", kind="embedded") >= 30
    )

    engine = Engine(batch_size=2)
    for _ in range(20):
        if not engine.step():
            break
    assert len(smtp_sink.wait_for(4)) == 4
    # The engine counted what it sent itself (campaigns.metrics.written, per flush).

    after = scrape(client)
    assert value(after, "postroom_deliveries_waiting", campaign_status="running") == 1
    assert value(after, "postroom_deliveries_due", campaign_status="running") == 0
    assert value(after, "postroom_oldest_due_age_seconds") == 0
    assert value(after, "postroom_delivery_leases", state="active") == 0
    assert value(after, "postroom_delivery_leases", state="expired") == 0
    account = str(setup.account.pk)
    sent_delta = value(
        after, "postroom_messages_total", account=account, kind="campaign", outcome="sent"
    ) - value(before, "postroom_messages_total", account=account, kind="campaign", outcome="sent")
    assert sent_delta == 4
    assert value(after, "postroom_engine_batch_seconds_count", phase="record") >= 1
    assert value(after, "postroom_engine_batch_seconds_count", phase="claim") >= 2
    # The scrapes themselves were timed, by route name and not by path.
    assert (
        value(
            after,
            "postroom_http_request_duration_seconds_count",
            route="metrics",
            method="GET",
            status="200",
        )
        >= 1
    )
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 4


def test_expired_leases_and_webhook_queue_and_jobs_are_counted(client, personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    campaign_start(campaign=setup.campaign)
    first, second, _ = Delivery.objects.filter(campaign=setup.campaign).order_by("id")
    now = timezone.now()
    Delivery.objects.filter(pk=first.pk).update(
        status="sending", lease_owner="w1", lease_expires_at=now + timedelta(minutes=2)
    )
    Delivery.objects.filter(pk=second.pk).update(
        status="sending", lease_owner="w2", lease_expires_at=now - timedelta(minutes=2)
    )
    from audience.models import AudienceJob

    AudienceJob.objects.create(workspace=personas.workspace, kind="import", status="running")
    samples = scrape(client)
    assert value(samples, "postroom_delivery_leases", state="active") == 1
    assert value(samples, "postroom_delivery_leases", state="expired") == 1
    assert value(samples, "postroom_deliveries_waiting", campaign_status="running") == 1
    assert value(samples, "postroom_audience_jobs", kind="import", status="running") == 1
    assert value(samples, "postroom_webhook_queue", state="queued") == 0


def test_metrics_are_off_without_a_token_or_a_network(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


def test_a_wrong_or_missing_token_is_refused(client):
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    assert b"postroom_" not in wrong.content


def test_the_network_allow_list(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    outside = client.get("/metrics", REMOTE_ADDR="192.0.2.7")
    assert outside.status_code == 403
    inside = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    assert inside.status_code == 200
    assert b"postroom_deliveries_waiting" in inside.content
    # Both set: both must pass.
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 401
    assert (
        client.get(
            "/metrics", REMOTE_ADDR="192.0.2.7", headers={"Authorization": f"Bearer {TOKEN}"}
        ).status_code
        == 403
    )


def test_counters_of_several_processes_add_up(client, tmp_path, monkeypatch):
    """prometheus-client's multiprocess mode: two worker processes count, /metrics adds."""
    import subprocess
    import sys

    code = (
        "import django, os, sys; os.environ['DJANGO_SETTINGS_MODULE']='postroom.settings'; "
        "django.setup(); from campaigns.metrics import observe_batch; "
        "observe_batch(7, 'campaign', int(sys.argv[1]), int(sys.argv[1]), 0, 1, 0.1, 0.2, 0.3)"
    )
    env = {"POSTROOM_DEVELOPMENT": "1", "PATH": "/usr/bin:/bin"}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
    for sent in ("3", "4"):
        subprocess.run([sys.executable, "-c", code, sent], env=env, check=True, timeout=60)
    assert len(list(tmp_path.glob("*.db"))) >= 2  # each process wrote its own file
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape(client)
    labels = {"account": "7", "kind": "campaign"}
    assert value(samples, "postroom_messages_total", outcome="sent", **labels) == 7
    assert value(samples, "postroom_messages_total", outcome="failed", **labels) == 2
    assert value(samples, "postroom_engine_claimed_total", **labels) == 7
    assert value(samples, "postroom_engine_batch_seconds_count", phase="record") == 2
    # The database's gauges are there too, computed once by the scraping process.
    assert ("postroom_deliveries_waiting", (("campaign_status", "running"),)) in samples


def test_a_backlog_past_the_scan_cap_is_a_flagged_floor(client, personas, smtp_sink, settings):
    setup = make_campaign(personas.workspace, smtp_sink, n=5)
    campaign_start(campaign=setup.campaign)
    assert value(scrape(client), "postroom_deliveries_capped") == 0
    settings.METRICS_WAITING_SCAN_ROWS = 3
    samples = scrape(client)
    assert value(samples, "postroom_deliveries_waiting", campaign_status="running") == 3
    assert value(samples, "postroom_deliveries_capped") == 1


def test_the_grafana_dashboard_only_asks_for_metrics_that_exist(client):
    import json
    import re
    from pathlib import Path

    from prometheus_client import REGISTRY

    from postroom.metrics import DatabaseCollector

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    known = set()
    for family in [*REGISTRY.collect(), *DatabaseCollector().collect()]:
        known |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    path = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "postroom.json"
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    asked = {name for e in exprs for name in re.findall(r"\bpostroom_[a-z_]+", e)}
    assert len(asked) >= 15
    assert sorted(asked - known) == []


def test_tracking_events_of_the_last_hour_and_failing_mailboxes(client, personas, settings):
    from tracking.models import BounceMailbox
    from tracking.models import Event as TrackingEvent

    def event(kind: str, minutes_ago: int) -> TrackingEvent:
        return TrackingEvent.objects.create(
            workspace=personas.workspace,
            kind=kind,
            source="link",
            created_at=timezone.now() - timedelta(minutes=minutes_ago),
        )

    event("opened", 90)  # more than an hour ago: not counted
    event("opened", 5)
    event("opened", 3)
    event("clicked", 1)
    BounceMailbox.objects.create(
        workspace=personas.workspace, name="Bounces", host="imap.example.test", username="b"
    )
    BounceMailbox.objects.create(
        workspace=personas.workspace,
        name="Broken",
        host="imap.example.test",
        username="c",
        last_error="Authentication failed",
    )
    samples = scrape(client)
    assert value(samples, "postroom_tracking_events_last_hour", kind="opened") == 2
    assert value(samples, "postroom_tracking_events_last_hour", kind="clicked") == 1
    assert value(samples, "postroom_tracking_events_capped") == 0
    assert value(samples, "postroom_bounce_mailboxes_failing") == 1
    # Only the newest rows are read: with room for two, the hour is a flagged floor.
    settings.METRICS_TRACKING_SCAN_ROWS = 2
    samples = scrape(client)
    assert value(samples, "postroom_tracking_events_last_hour", kind="opened") == 1
    assert value(samples, "postroom_tracking_events_capped") == 1


def test_deliveries_waiting_for_room_are_counted_by_why(client, personas, smtp_sink):
    """An account's daily limit of 2 and 5 recipients: 2 go, 3 are put back to wait for
    tomorrow, and the quota-wait counter says so, by reason."""
    setup = make_campaign(personas.workspace, smtp_sink, n=5)
    setup.account.daily_limit = 2
    setup.account.save()
    campaign_start(campaign=setup.campaign)
    before = scrape(client)
    Engine(batch_size=10).step()
    assert len(smtp_sink.wait_for(2)) == 2
    after = scrape(client)

    def waited(samples, reason: str) -> float:
        return value(samples, "postroom_quota_waits_total", reason=reason)

    assert waited(after, "daily_limit") - waited(before, "daily_limit") == 3
    assert waited(after, "hourly_limit") == waited(before, "hourly_limit")
    assert Delivery.objects.filter(status=DeliveryStatus.DEFERRED).count() == 3
