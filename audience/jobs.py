"""The audience's worker step: run one queued import or bulk-action job, in batches.

`run_next_job` is one of the embedded worker's duties (postroom/worker.py). It claims one job with a
conditional UPDATE (queued -> running; a second worker's UPDATE then matches no row, so two
workers never take the same job), works through it batch by batch, counting progress and
re-reading `cancel_requested` between batches, and records how it ended.
"""

from __future__ import annotations

import csv
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from audience import selectors, services
from audience.bulkwrite import refresh_statistics
from audience.importer import Plan, read_batches
from audience.metrics import IMPORT_ROWS
from audience.models import AudienceJob, CustomField, JobKind, JobStatus
from audience.reasons import (
    CANCELLED_AFTER_LINE,
    CANCELLED_AFTER_RECIPIENTS,
    CANCELLED_BEFORE_ROWS,
    NOT_CSV,
    NOT_IN_ENCODING,
    UNEXPECTED,
)
from audience.statistics import refresh_stale_statistics
from core import reasons
from core.one_ahead import Ahead, Turn, can_overlap

log = logging.getLogger(__name__)


def run_next_job() -> bool:
    """Claim and run the oldest queued job; True if there was one (more may be waiting).

    Never raises for a job's own failure: an unexpected error marks the job failed with the
    error's text, so that one bad job cannot stop the worker loop.
    """
    job = claim_next_job()
    if job is None:
        return False
    try:
        if job.kind == JobKind.IMPORT:
            run_import(job)
        else:
            run_bulk(job)
    except Exception as exc:  # a bad job must not stop the worker
        log.exception("audience job %s failed", job.pk)
        services.job_finish(
            job=job, status=JobStatus.FAILED, error=reasons.reason(UNEXPECTED, error=str(exc))
        )
    # However it ended, what it wrote is there: the audience count that the campaign page
    # shows next is planned on statistics that describe the tables (and not quadratic).
    refresh_stale_statistics()
    return True


def claim_next_job() -> AudienceJob | None:
    """Take the oldest queued job, or a running one whose worker died; None if there is none.

    Each candidate is taken with a conditional UPDATE that matches only while the job is in
    the state it was read in, so when two workers race, exactly one UPDATE changes a row.
    A resumed job keeps its `started_at`: imports use it to recognise the rows they wrote.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.AUDIENCE_JOB_STALE_SECONDS)
    queued = AudienceJob.objects.filter(status=JobStatus.QUEUED).order_by("created_at", "pk")
    for pk in queued[:5].values_list("pk", flat=True):
        claimed = AudienceJob.objects.filter(pk=pk, status=JobStatus.QUEUED).update(
            status=JobStatus.RUNNING, started_at=now, heartbeat_at=now
        )
        if claimed == 1:
            return AudienceJob.objects.select_related("workspace").get(pk=pk)
    orphans = AudienceJob.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=stale)
    for pk, beat in orphans.order_by("heartbeat_at")[:5].values_list("pk", "heartbeat_at"):
        claimed = AudienceJob.objects.filter(
            pk=pk, status=JobStatus.RUNNING, heartbeat_at=beat
        ).update(heartbeat_at=now)
        if claimed == 1:
            log.warning("audience job %s lost its worker; resuming after %s", pk, beat)
            return AudienceJob.objects.select_related("workspace").get(pk=pk)
    return None


def _cancelled(job: AudienceJob) -> bool:
    return AudienceJob.objects.filter(pk=job.pk, cancel_requested=True).exists()


def run_import(job: AudienceJob) -> None:
    """Import the job's file in batches. Stops cleanly on cancel, decode or CSV errors.

    On PostgreSQL the batches are written on threads of their own (IMPORT_WRITERS at once)
    while the next is parsed and prepared (core.one_ahead). Their transactions commit one
    after another, in the file's order; an address is never in two batches being written at
    once (a later line of it is a duplicate, see services.import_defer_repeats), so they
    never wait for each other's rows.
    """
    assert job.started_at is not None  # noqa: S101 - set by the claim
    plan, stamp, statistics = _plan(job), job.started_at, _Statistics()
    line = job.last_line  # the last line of the last batch written
    in_flight: deque[int] = deque()  # the last line of each batch being written, oldest first
    # Whether the next batch is likely all new addresses, as every row of the one before it
    # was (a first import): it is then tried straight into the table before any lookup.
    all_new = True

    def write(
        turn: Turn, rows: list[tuple[int, list[str]]], batch: services.ImportBatch, read: int
    ) -> bool:
        """Write a batch; True when the user has asked to cancel meanwhile."""
        nonlocal all_new
        started = time.perf_counter()
        written = services.import_write_batch(
            job=job, rows=batch, stamp=stamp, bytes_read=read, assume_new=all_new, turn=turn
        )
        # Every address written: new ones, as a rule (should they all have been updates, the
        # next COPY fails at its first stored row and costs little).
        all_new = written == len(batch.parsed)
        statistics.grew(written)
        _log_batch(job, rows=len(rows), written=written, line=rows[-1][0], started=started)
        return _cancelled(job)

    def settle() -> bool:
        """Wait for the oldest batch in flight; True when the job is to stop as cancelled."""
        nonlocal line
        cancelled = bool(writers.settle())
        if in_flight:
            line = in_flight.popleft()
        return cancelled

    def settle_all() -> bool:
        cancelled = False
        while in_flight:
            cancelled = settle() or cancelled
        return cancelled

    threaded = can_overlap()
    width = settings.IMPORT_WRITERS if threaded else 1
    with Ahead(threaded=threaded, name="import-writer", width=width) as writers:
        try:
            previous: services.ImportBatch | None = None
            for rows, bytes_read in _pending_batches(job):
                parsed = [plan.parse(n, row) for n, row in rows]
                batch = services.import_prepare_batch(parsed, expect_new=all_new)
                if previous is not None:  # still in flight, or just written
                    services.import_defer_repeats(batch, previous)
                if writers.full and settle():
                    settle_all()
                    services.job_finish(job=job, status=JobStatus.CANCELLED, error=_stopped(line))
                    return
                writers.submit(write, rows, batch, bytes_read)
                in_flight.append(rows[-1][0])
                previous = batch
        except (UnicodeDecodeError, csv.Error) as exc:
            settle_all()  # what was read before the bad spot is written first
            error = _stopped_by(exc, line, job.params["encoding"])
            services.job_finish(job=job, status=JobStatus.FAILED, error=error)
            return
        if settle_all():
            services.job_finish(job=job, status=JobStatus.CANCELLED, error=_stopped(line))
            return
    services.job_finish(job=job, status=JobStatus.DONE)


def _plan(job: AudienceJob) -> Plan:
    fields = CustomField.objects.filter(workspace=job.workspace)
    types = {f.key: (f.type, list(f.choices)) for f in fields}
    return Plan(
        mapping=job.params["mapping"],
        custom_types=types,
        header=job.params.get("header", []),
        restore_formulas=True,
    )


def _pending_batches(job: AudienceJob) -> Iterator[tuple[list[tuple[int, list[str]]], int]]:
    """The file's batches, without the lines an earlier run of this job committed."""
    params = job.params
    batches = read_batches(
        Path(params["path"]), params["encoding"], params["delimiter"], settings.AUDIENCE_BATCH_SIZE
    )
    for batch, bytes_read in batches:
        rows = [(n, row) for n, row in batch if n > job.last_line] if job.last_line else batch
        if rows:
            yield rows, bytes_read


def _log_batch(job: AudienceJob, *, rows: int, written: int, line: int, started: float) -> None:
    """One structured line per import batch (figures only: no address, no cell)."""
    IMPORT_ROWS.inc(rows)
    log.info(
        "import batch: job %s rows %d written %d up to line %d",
        job.pk,
        rows,
        written,
        line,
        extra={
            "event": "import.batch",
            "job_id": job.pk,
            "workspace_id": job.workspace_id,
            "rows": rows,
            "written": written,
            "line": line,
            "seconds": round(time.perf_counter() - started, 4),
        },
    )


class _Statistics:
    """Re-analyse the table at 5,000, 20,000, 80,000… written rows (see refresh_statistics)."""

    def __init__(self) -> None:
        self.written, self.analysed_at = 0, 1250
        self._lock = threading.Lock()  # the writers' threads report here

    def grew(self, rows: int) -> None:
        with self._lock:
            self.written += rows
            due = self.written >= self.analysed_at * 4
            if due:
                self.analysed_at = self.written
        if due:
            refresh_statistics()


def _stopped(line: int) -> reasons.Reason:
    if not line:
        return reasons.reason(CANCELLED_BEFORE_ROWS)
    return reasons.reason(CANCELLED_AFTER_LINE, line=line)


def _stopped_by(exc: BaseException, line: int, encoding: str) -> reasons.Reason:
    if isinstance(exc, UnicodeDecodeError):
        return reasons.reason(NOT_IN_ENCODING, line=line, encoding=encoding)
    return reasons.reason(NOT_CSV, line=line, error=str(exc))


def run_bulk(job: AudienceJob) -> None:
    """Apply the job's bulk action to its filter, by keyset batches over the primary key."""
    flt = selectors.RecipientFilter.from_params(job.params.get("filter") or {})
    list_id = job.params.get("list_id")
    recipient_list = selectors.list_get(job.workspace, int(list_id)) if list_id else None
    qs = selectors.recipients_matching(job.workspace, flt)
    after = job.last_line  # the last recipient id handled, when the job is resumed
    while True:
        ids = selectors.recipient_ids_after(qs, after, settings.AUDIENCE_BATCH_SIZE)
        if not ids:
            break
        try:
            services.recipients_bulk_apply(
                workspace=job.workspace,
                action=job.params["action"],
                ids=ids,
                recipient_list=recipient_list,
            )
        except ValidationError as exc:
            services.job_finish(job=job, status=JobStatus.FAILED, error=" ".join(exc.messages))
            return
        after = ids[-1]
        job.processed += len(ids)
        AudienceJob.objects.filter(pk=job.pk).update(
            processed=job.processed, last_line=after, heartbeat_at=timezone.now()
        )
        if _cancelled(job):
            services.job_finish(
                job=job,
                status=JobStatus.CANCELLED,
                error=reasons.reason(CANCELLED_AFTER_RECIPIENTS, count=job.processed),
            )
            return
    services.job_finish(job=job, status=JobStatus.DONE)
