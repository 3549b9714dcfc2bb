"""Housekeeping of the audience: uploaded CSV files that will never be imported are deleted.

An upload is kept under MEDIA_ROOT only while its import may still run. A draft that nobody
maps, or a file no job refers to (the web process stopped between storing the upload and
recording its job, or could not delete a finished job's file), would stay for ever and count
against the workspace's upload room. The hourly housekeeping removes both once they are older
than AUDIENCE_UPLOAD_KEEP_HOURS.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings

from audience import services
from audience.models import AudienceJob, JobKind, JobStatus

CHUNK = 500


def purge_abandoned_uploads(*, now: datetime, chunk: int = CHUNK) -> int:
    """Cancel import drafts older than the keep time and delete their files and any stray
    upload file as old; returns how many uploads went."""
    cutoff = now - timedelta(hours=settings.AUDIENCE_UPLOAD_KEEP_HOURS)
    drafts = AudienceJob.objects.filter(
        kind=JobKind.IMPORT, status=JobStatus.DRAFT, created_at__lt=cutoff
    ).order_by("pk")
    removed = 0
    for job in drafts[:chunk]:
        services.job_cancel(job=job)
        removed += 1
    return removed + _purge_stray_files(cutoff.timestamp())


def _purge_stray_files(before: float) -> int:
    root = services.uploads_root()
    if not root.is_dir():
        return 0
    waiting = AudienceJob.objects.filter(
        kind=JobKind.IMPORT,
        status__in=(JobStatus.DRAFT, JobStatus.QUEUED, JobStatus.RUNNING),
    ).values_list("params", flat=True)
    kept = {str(Path(params.get("path", ""))) for params in waiting.iterator()}
    removed = 0
    for path in root.glob("*/*.csv"):
        try:
            old = path.stat().st_mtime < before
        except FileNotFoundError:
            continue  # deleted meanwhile by its job
        if old and str(path) not in kept:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
