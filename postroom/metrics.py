"""Prometheus metrics at /metrics.

Two kinds of figures:

- Counters and histograms that processes add to as they work (the engine's messages and batch
  phases in campaigns.metrics, web request latency here, webhook requests and import rows).
  With PROMETHEUS_MULTIPROC_DIR set, every process writes its values to files there and a
  scrape adds them up, so web server processes, `manage.py worker` and Celery count together.
- Gauges read from the database at scrape time (`DatabaseCollector`): the same answer from any
  process, however many there are. Each query is chosen to stay cheap on a big outbox (see the
  comments at each one); a scrape makes about a dozen small queries.

Off by default: the figures name accounts, campaign states and worker names, and each scrape
costs queries, so nobody may read them until the operator says who may (METRICS_TOKEN, a
bearer token, and/or METRICS_ALLOWED_NETWORKS); with neither, /metrics answers 404.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

# Imported for their metrics: registered in every process that serves /metrics, so that each
# series is there from the first scrape.
import audience.metrics  # noqa: F401
import campaigns.metrics  # noqa: F401
import webhooks.services  # noqa: F401
from audience.models import AudienceJob
from campaigns.models import WAITING, Campaign, CampaignStatus, Delivery, WorkerHeartbeat
from core.client_ip import client_ip
from tracking.models import BounceMailbox
from tracking.models import Event as TrackingEvent
from webhooks.models import Endpoint, EventState
from webhooks.models import Event as WebhookRequest

# Campaigns whose outbox may still hold waiting deliveries.
OPEN_CAMPAIGN = (
    CampaignStatus.SCHEDULED,
    CampaignStatus.LAUNCHING,
    CampaignStatus.RUNNING,
    CampaignStatus.PAUSED,
)

REQUEST_SECONDS = Histogram(
    "postroom_http_request_duration_seconds",
    "Time to answer a web request, by route name (never the raw path), method and status.",
    ("route", "method", "status"),
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def _marks(values: tuple[object, ...]) -> str:
    return ", ".join(["%s"] * len(values))


class DatabaseCollector:
    """Gauges computed from the database at each scrape."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from self._deliveries(now)
        yield from self._campaigns()
        yield from self._leases(now)
        yield from self._webhooks(now)
        yield from self._imports()
        yield from self._tracking(now)
        yield from self._mailboxes()
        yield from self._workers(now)

    def _deliveries(self, now: datetime) -> Iterator[Metric]:
        # Only the waiting rows of open campaigns, read from the partial index
        # delivery_campaign_due (campaign, next_attempt_at, id) WHERE status IN (queued,
        # deferred): an index-only scan that never touches the outbox's sent rows. At most
        # METRICS_WAITING_SCAN_ROWS of them are read (500,000 by default: an index-only scan of
        # about a quarter second on PostgreSQL); past that the figures are floors, flagged by
        # postroom_deliveries_capped 1.
        cap = settings.METRICS_WAITING_SCAN_ROWS
        delivery, campaign = Delivery._meta.db_table, Campaign._meta.db_table
        sql = (
            f"SELECT status, COUNT(*), COUNT(*) FILTER (WHERE due) FROM ("  # noqa: S608
            f" SELECT c.status, d.next_attempt_at <= %s AS due FROM {campaign} c"
            f" JOIN {delivery} d ON d.campaign_id = c.id"
            f" WHERE c.status IN ({_marks(OPEN_CAMPAIGN)}) AND d.status IN ({_marks(WAITING)})"
            " LIMIT %s) AS w GROUP BY status"
        )
        if connection.vendor != "postgresql":
            sql = sql.replace("COUNT(*) FILTER (WHERE due)", "SUM(CASE WHEN due THEN 1 ELSE 0 END)")
        with connection.cursor() as cursor:
            cursor.execute(sql, [now, *OPEN_CAMPAIGN, *WAITING, cap])
            found = {status: (waiting, due or 0) for status, waiting, due in cursor.fetchall()}
        waiting = _gauge(
            "postroom_deliveries_waiting",
            "Deliveries queued or deferred, by their campaign's status.",
            ("campaign_status",),
        )
        due = _gauge(
            "postroom_deliveries_due",
            "Waiting deliveries whose time has come, by their campaign's status.",
            ("campaign_status",),
        )
        for status in OPEN_CAMPAIGN:
            counts = found.get(status, (0, 0))
            waiting.add_metric([str(status)], counts[0])
            due.add_metric([str(status)], counts[1])
        yield waiting
        yield due
        capped = _gauge(
            "postroom_deliveries_capped",
            f"1 when more than {cap} deliveries wait: the counts above are floors.",
        )
        capped.add_metric([], 1 if sum(w for w, _ in found.values()) >= cap else 0)
        yield capped
        # The oldest due delivery of a running campaign: one index probe per running campaign.
        oldest = None
        running = Campaign.objects.filter(status=CampaignStatus.RUNNING).values_list(
            "pk", flat=True
        )
        for campaign_id in running:
            first = (
                Delivery.objects.filter(
                    campaign_id=campaign_id, status__in=WAITING, next_attempt_at__lte=now
                )
                .order_by("next_attempt_at", "id")
                .values_list("next_attempt_at", flat=True)
                .first()
            )
            if first is not None and (oldest is None or first < oldest):
                oldest = first
        age = _gauge(
            "postroom_oldest_due_age_seconds",
            "How long the oldest due delivery of a running campaign has waited (0: none).",
        )
        age.add_metric([], (now - oldest).total_seconds() if oldest else 0.0)
        yield age

    def _campaigns(self) -> Iterator[Metric]:
        gauge = _gauge("postroom_campaigns", "Campaigns by status.", ("status",))
        found = dict(
            Campaign.objects.order_by()
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        for status in CampaignStatus.values:
            gauge.add_metric([status], found.get(status, 0))
        yield gauge

    def _leases(self, now: datetime) -> Iterator[Metric]:
        # The partial index delivery_leased (lease_expires_at) WHERE status = sending holds
        # only the deliveries in flight: at most a few batches per worker.
        counts = Delivery.objects.filter(status="sending").aggregate(
            active=Count("id", filter=Q(lease_expires_at__gt=now)),
            expired=Count("id", filter=Q(lease_expires_at__lte=now)),
        )
        gauge = _gauge(
            "postroom_delivery_leases",
            "Deliveries leased by a worker: active, or expired (to be taken over).",
            ("state",),
        )
        gauge.add_metric(["active"], counts["active"] or 0)
        gauge.add_metric(["expired"], counts["expired"] or 0)
        yield gauge

    def _webhooks(self, now: datetime) -> Iterator[Metric]:
        # Pending requests only (partial index webhook_event_due): delivered and failed rows,
        # most of the table, are never counted here; failures are counted as they happen
        # (postroom_webhook_requests_total{outcome="failed"}).
        pending = WebhookRequest.objects.filter(state=EventState.PENDING).aggregate(
            queued=Count("id"),
            due=Count("id", filter=Q(next_attempt_at__lte=now)),
            retrying=Count("id", filter=Q(attempts__gt=0)),
        )
        gauge = _gauge(
            "postroom_webhook_queue",
            "Webhook requests pending: all, due now, and retrying after a failure.",
            ("state",),
        )
        for state in ("queued", "due", "retrying"):
            gauge.add_metric([state], pending[state] or 0)
        yield gauge
        disabled = _gauge(
            "postroom_webhook_endpoints_disabled", "Webhook endpoints disabled after failing."
        )
        disabled.add_metric([], Endpoint.objects.filter(active=False).count())
        yield disabled

    def _imports(self) -> Iterator[Metric]:
        # The audiencejob_queue index (status, created_at) serves this grouping.
        gauge = _gauge(
            "postroom_audience_jobs", "Import and bulk jobs by kind and status.", ("kind", "status")
        )
        rows = AudienceJob.objects.order_by().values("kind", "status").annotate(n=Count("id"))
        for row in rows:
            gauge.add_metric([row["kind"], row["status"]], row["n"])
        yield gauge

    def _tracking(self, now: datetime) -> Iterator[Metric]:
        since = now - timedelta(hours=1)
        newest = TrackingEvent.objects.aggregate(top=Max("id"))["top"] or 0
        # The newest METRICS_TRACKING_SCAN_ROWS events, a range of the primary key: the table
        # has no index on the time alone, so "the last hour" is read among the last rows
        # written, never the whole table. Past that many an hour the figure is a floor.
        cap = settings.METRICS_TRACKING_SCAN_ROWS
        recent = TrackingEvent.objects.filter(id__gt=newest - cap)
        found = dict(
            recent.filter(created_at__gte=since)
            .order_by()
            .values_list("kind")
            .annotate(n=Count("id"))
            .values_list("kind", "n")
        )
        gauge = _gauge(
            "postroom_tracking_events_last_hour",
            "Tracking events (opens, clicks, bounces, ...) recorded in the last hour, by kind.",
            ("kind",),
        )
        for kind, count in sorted(found.items()):
            gauge.add_metric([kind], count)
        yield gauge
        capped = _gauge(
            "postroom_tracking_events_capped",
            f"1 when the last hour held more than the {cap} newest events read.",
        )
        oldest_read = recent.aggregate(first=Min("created_at"))["first"] if newest else None
        full = newest > cap and oldest_read is not None and oldest_read >= since
        capped.add_metric([], 1 if full else 0)
        yield capped

    def _mailboxes(self) -> Iterator[Metric]:
        gauge = _gauge(
            "postroom_bounce_mailboxes_failing",
            "Enabled bounce mailboxes whose last poll ended in an error.",
        )
        gauge.add_metric(
            [], BounceMailbox.objects.filter(enabled=True).exclude(last_error="").count()
        )
        yield gauge

    def _workers(self, now: datetime) -> Iterator[Metric]:
        gauge = _gauge(
            "postroom_worker_last_seen_seconds",
            "Seconds since each worker process last said it was alive.",
            ("worker", "kind"),
        )
        for name, kind, seen in WorkerHeartbeat.objects.values_list("name", "kind", "seen_at"):
            gauge.add_metric([name, kind], max((now - seen).total_seconds(), 0.0))
        yield gauge


class _ThisProcess:
    """The default registry's metrics (this process alone), when not in multiprocess mode."""

    def collect(self) -> Iterator[Metric]:
        return iter(REGISTRY.collect())


def registry() -> CollectorRegistry:
    """A registry for one scrape: every process's counters, and the database's gauges."""
    scrape = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(scrape)  # type: ignore[no-untyped-call]
    else:
        scrape.register(_ThisProcess())
    scrape.register(DatabaseCollector())
    return scrape


def _allowed_network(request: HttpRequest, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


def _bearer(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus text format; 404 unless METRICS_TOKEN or METRICS_ALLOWED_NETWORKS is set."""
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS
    if not token and not networks:
        raise Http404
    if networks and not _allowed_network(request, networks):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    if token and not hmac.compare_digest(_bearer(request).encode(), token.encode()):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)


class RequestMetricsMiddleware:
    """Times every request into postroom_http_request_duration_seconds, labelled by the
    route's name (`campaigns:detail`), so that ids in paths never multiply the series."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.view_name or match.route) if match is not None else "unmatched"
        REQUEST_SECONDS.labels(route, request.method or "", str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response
