"""Probes for load balancers and orchestrators."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from campaigns.models import WorkerHeartbeat


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """The process is alive and answers; it touches nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """Which duty is behind, in JSON: the database (answers, migrations applied, static files
    collected), the broker (when Celery is configured) and the workers (503 when workers were
    seen but none within READY_WORKER_SECONDS: nothing is sending). 200 when all is well."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # any failure here means "not ready", reported, never raised
        return JsonResponse(
            {"status": "unavailable", "database": "error", "error": exc.__class__.__name__},
            status=503,
        )
    if pending:
        return JsonResponse(
            {"status": "unavailable", "database": "ok", "pending_migrations": len(pending)},
            status=503,
        )
    if not static_files_collected():
        # Every page names its stylesheet through the manifest: without it each one is a 500.
        return JsonResponse(
            {"status": "unavailable", "database": "ok", "static_files": "not collected"},
            status=503,
        )
    answer: dict[str, object] = {"status": "ok", "database": "ok", "migrations": "applied"}
    down = False
    if settings.CELERY_BROKER_URL:
        answer["broker"] = broker_state()
        down = down or answer["broker"] != "ok"
    workers, behind = worker_state()
    answer["workers"] = workers
    if behind:
        answer["workers_behind"] = behind
    down = down or workers == "behind"
    if down:
        answer["status"] = "unavailable"
    return JsonResponse(answer, status=503 if down else 200)


def broker_state() -> str:
    """ "ok" if the Celery broker accepts a connection within two seconds, else "error"."""
    from postroom.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception:  # any failure means the broker is not usable; the probe says so
        return "error"
    return "ok"


def worker_state() -> tuple[str, list[str]]:
    """("ok", stale names) while a worker was seen within READY_WORKER_SECONDS; ("behind",
    names) when workers were seen but none that recently; ("none", []) when no worker has
    said it is alive (none started yet, or all stopped cleanly)."""
    since = timezone.now() - timedelta(seconds=settings.READY_WORKER_SECONDS)
    rows = list(WorkerHeartbeat.objects.values_list("name", "seen_at"))
    if not rows:
        return "none", []
    stale = sorted(name for name, seen in rows if seen < since)
    return ("behind" if len(stale) == len(rows) else "ok"), stale


def static_files_collected() -> bool:
    """False when the static files are served through a manifest (DEBUG=False) that
    `collectstatic` has not written."""
    storage = staticfiles_storage  # lazy: isinstance sees the configured class
    if not isinstance(storage, ManifestFilesMixin):
        return True
    return bool(storage.exists(storage.manifest_name))
