"""Record: write a batch's outcomes at once — deliveries, attempts, suppressions, accounts.

Only deliveries whose lease is still the worker's are written: a worker that was too slow
and lost its lease to another cannot overwrite the newer holder's result.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audience.models import Suppression, SuppressionReason
from campaigns import metrics
from campaigns.engine.claim import Claimed, give_back_room_of, release
from campaigns.engine.outcome import Outcome, is_policy_refusal, past_threshold
from campaigns.engine.writer import Writer
from campaigns.models import (
    Attempt,
    AttemptOutcome,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
)
from campaigns.reasons import POLICY_REFUSALS
from campaigns.services import CampaignError, campaign_pause
from core.one_ahead import can_overlap
from core.reasons import reason
from sending import quota
from sending.models import SendingAccount
from sending.services import account_mark_error

log = logging.getLogger(__name__)

# Outcomes kept before they are written. With a writer thread, one chunk is written while
# the next fills: a worker killed at any moment has sent, for each batch it was sending, at
# most UNRECORDED_AT_MOST messages (plus those in flight) that it did not record, and that
# will go again.
FLUSH_EVERY = 90
UNRECORDED_AT_MOST = 2 * FLUSH_EVERY
# ... and at most this long: a slow server still sees its results recorded as they come.
FLUSH_SECONDS = 1.0
# When the deliveries of a batch that failed part-way are due again (sooner than the lease).
RETRY_FAILED = timedelta(seconds=5)
# A batch stops sending this share of its lease before the lease runs out by this worker's
# clock: another worker may claim its deliveries the moment the lease is over by its own
# clock, and the two clocks may differ a little.
LEASE_MARGIN = 0.1
# The "status" a batch's messages stop in when its lease ran out unrenewed (the database was
# out of reach, or the worker stalled): what is left goes back to the queue, where the lease
# is still this worker's, and is never sent by this batch: another worker may be sending it.
LEASE_LOST = "lease_lost"


@dataclass
class Writing:
    """A chunk of outcomes handed to the writer thread, not yet known written."""

    outcomes: list[Outcome]
    rows: list[Claimed]
    started: float
    done: Future[int]


class Recorder:
    """Writes a claimed batch's outcomes as they come, in chunks, and keeps the batch's lease
    alive while its worker is still sending it (a batch may take longer than one lease).

    With a `writer`, a full chunk of plain outcomes (see `is_plain`) is written by its thread
    while sending goes on, one chunk at a time: the next full chunk, and every other write,
    first waits for it. Without one, or for any other chunk, the caller writes."""

    def __init__(
        self,
        *,
        worker: str,
        deliveries: Sequence[Claimed],
        lease: timedelta,
        started: datetime | None = None,
        writer: Writer | None = None,
    ) -> None:
        self.worker = worker
        self.writer = writer
        self.writing: Writing | None = None
        self.lease = lease
        self.started = started or timezone.now()  # the batch's time: its holds are from then
        self.open = {d.pk: d for d in deliveries}  # claimed, not yet written
        self.pending: list[Outcome] = []
        self.flushed_at = self.renewed_at = time.monotonic()
        # Until when (this process's monotonic clock) the batch's lease surely holds: it was
        # taken at `started`, and is renewed as the batch goes on.
        elapsed = max(0.0, (timezone.now() - self.started).total_seconds())
        self.lease_until = self.renewed_at - elapsed + lease.total_seconds()
        self.lease_lost = False
        self.stopped: dict[int, str] = {}  # campaigns this recording paused: stop sending them
        self.refusals: dict[int, RefusalCount] = {}  # campaigns with policy refusals

    def stopped_as(self, campaign_id: int) -> str | None:
        """Why the batch must send no more of the campaign's messages, asked before each one:
        the pause this recording decided, or LEASE_LOST once the batch's lease has run out
        (or is about to) without a renewal, or was found taken by another worker."""
        if campaign_id in self.stopped:
            return self.stopped[campaign_id]
        margin = self.lease.total_seconds() * LEASE_MARGIN
        if not self.lease_lost and time.monotonic() > self.lease_until - margin:
            self.lease_lost = True
            log.warning("a batch's lease ran out unrenewed: it stops sending (%s)", self.worker)
        return LEASE_LOST if self.lease_lost else None

    def __call__(self, outcome: Outcome) -> None:
        self.pending.append(outcome)
        if self._pause_due(outcome):
            self.flush()  # now: the pause is decided there, and stops the batch at once
        elif len(self.pending) >= FLUSH_EVERY:
            if self._may_write_behind():
                self._write_behind()
            else:
                self.flush()
        elif time.monotonic() - self.flushed_at > FLUSH_SECONDS:
            self.flush()

    def _may_write_behind(self) -> bool:
        """Whether the pending chunk may go to the writer thread: plain outcomes (one
        statement, nothing to decide from it) on PostgreSQL, outside a transaction (the
        thread's connection would not see its rows), with no lease to renew yet (done with
        the chunk written here)."""
        return (
            self.writer is not None
            and can_overlap()
            and not self.refusals
            and not self._renewal_due(time.monotonic())
            and is_plain(self.pending)
        )

    def _write_behind(self) -> None:
        assert self.writer is not None  # noqa: S101 - checked by _may_write_behind
        self._collect()  # one chunk at a time: a crash loses at most UNRECORDED_AT_MOST
        chunk, self.pending = self.pending, []
        rows = [self.open[o.delivery_id] for o in chunk]
        worker, now = self.worker, timezone.now()

        def write() -> int:
            return write_outcomes(worker=worker, deliveries=rows, outcomes=chunk, now=now)

        self.writing = Writing(chunk, rows, time.monotonic(), self.writer.submit(write))
        self.flushed_at = time.monotonic()

    def _collect(self) -> None:
        """Wait for the chunk the writer thread has; when its write failed, its outcomes are
        pending again (for `salvage` to write) and the failure is raised here."""
        writing, self.writing = self.writing, None
        if writing is None:
            return
        try:
            writing.done.result()
        except BaseException:
            self.pending[:0] = writing.outcomes
            raise
        self._written(writing.rows, writing.outcomes, writing.started)

    def _pause_due(self, outcome: Outcome) -> bool:
        """Whether this outcome may take its campaign past the threshold of policy refusals
        that pauses it. Counted in memory from the campaign's figures, read at its first
        refusal in the batch: only a refusal costs a look at the database, and only once."""
        refusal = is_policy_refusal(outcome.attempt, outcome.enhanced)
        if not refusal and not self.refusals:
            return False
        campaign_id = self.open[outcome.delivery_id].campaign_id
        if campaign_id in self.stopped:
            return False
        count = self.refusals.get(campaign_id)
        if count is None:
            if not refusal:
                return False
            self._collect()  # the figures read include every chunk handed over
            count = self.refusals[campaign_id] = RefusalCount.read(campaign_id, self)
        elif outcome.attempt is not None:
            count.attempts += 1
            count.refused += refusal
        return refusal and count.crosses()

    def flush(self) -> None:
        """Write what is pending (after the writer thread's chunk); renew the lease of the
        rest when a third of it has passed."""
        self._collect()
        if self.pending:
            rows = [self.open[o.delivery_id] for o in self.pending]
            paused: set[int] = set()
            started = time.monotonic()
            write_outcomes(
                worker=self.worker,
                deliveries=rows,
                outcomes=self.pending,
                now=timezone.now(),
                paused=paused,
            )
            self.stopped.update(dict.fromkeys(paused, CampaignStatus.PAUSED))
            for campaign_id in self.refusals.keys() - paused:
                # Not paused after all (other workers' attempts, a lost lease): read anew.
                if self.refusals[campaign_id].crosses():
                    del self.refusals[campaign_id]
            self._written(rows, self.pending, started)
            self.pending = []
        self.flushed_at = time.monotonic()
        if self.open and self._renewal_due(self.flushed_at):
            asked = time.monotonic()  # the new lease counts from before the statement went
            until = timezone.now() + self.lease
            renewed = renew_lease(worker=self.worker, ids=list(self.open), until=until)
            if renewed < len(self.open):
                # Some ran out and another worker claimed them: which ones this batch may
                # still send is not worth a query; it stops, and the rest go back.
                self.lease_lost = True
            elif not self.lease_lost:
                self.lease_until = asked + self.lease.total_seconds()
            # The room held for them, likewise; not that of an earlier batch that failed.
            quota.renew_holds(self.worker, until, since=self.started)
            self.renewed_at = self.flushed_at

    def _renewal_due(self, now: float) -> bool:
        return now - self.renewed_at > self.lease.total_seconds() / 3

    def _written(self, rows: list[Claimed], outcomes: list[Outcome], started: float) -> None:
        metrics.written(
            [
                (row.campaign_id, o.account_id, o.status, o.attempt is not None)
                for row, o in zip(rows, outcomes, strict=True)
            ],
            time.monotonic() - started,
        )
        # Forgotten only once written: after a failed write `salvage` can try again.
        for outcome in outcomes:
            del self.open[outcome.delivery_id]

    def salvage(self, *, give_back: bool = True) -> None:
        """After the batch failed part-way: write the outcomes already known (messages the
        servers confirmed, so that they are not sent again); give back the deliveries without
        one, due after RETRY_FAILED (those whose end of DATA got no reply go again with the
        same Message-ID; a fault that repeats does not spin), and the room held for them.
        Best effort, on the caller's fresh database connection: when the database is still
        away, the leases and the holds' expiry bring them all back later.

        The room goes back for all the worker's holds at once: with several batches open,
        `give_back=False` for all but the last, so that none is settled before every batch
        has written what it used."""
        # A chunk the writer thread failed to write (the same outage, as a rule) is pending
        # again: written here with the rest.
        with contextlib.suppress(Exception):
            self._collect()
        try:
            self.flush()
            now = timezone.now()
            release(worker=self.worker, ids=list(self.open), now=now, due=now + RETRY_FAILED)
            self.open = {}
            if give_back:
                give_back_room_of(worker=self.worker)  # what they did not use: reserved anew
        except Exception:
            log.warning("could not record the failed batch now; its leases will bring it back")


class RefusalCount:
    """A campaign's policy refusals and attempts, as the database had them when read, plus
    what this batch has recorded since."""

    def __init__(self, refused: int, attempts: int) -> None:
        self.refused = refused
        self.attempts = attempts

    @classmethod
    def read(cls, campaign_id: int, recorder: Recorder) -> RefusalCount:
        """The written figures plus the batch's pending outcomes (the new refusal included)."""
        refused, attempts = policy_figures(campaign_id)
        for outcome in recorder.pending:
            if (
                outcome.attempt is not None
                and recorder.open[outcome.delivery_id].campaign_id == campaign_id
            ):
                attempts += 1
                refused += is_policy_refusal(outcome.attempt, outcome.enhanced)
        return cls(refused, attempts)

    def crosses(self) -> bool:
        return _past_threshold(self.refused, self.attempts)


def renew_lease(*, worker: str, ids: list[int], until: datetime) -> int:
    """Extend this worker's lease on deliveries it still holds (never on another's)."""
    return Delivery.objects.filter(
        pk__in=ids, lease_owner=worker, status=DeliveryStatus.SENDING
    ).update(lease_expires_at=until)


# One row of the VALUES list per delivery; PostgreSQL needs the types spelled out once.
COLUMNS = (
    ("id", "bigint"), ("status", "varchar"), ("spend", "integer"),
    ("next_at", "timestamptz"), ("account_id", "bigint"), ("message_id", "varchar"),
    ("code", "integer"), ("enhanced", "varchar"), ("reply", "text"),
)  # fmt: skip


def write_outcomes(
    *,
    worker: str,
    deliveries: Sequence[Claimed],
    outcomes: Sequence[Outcome],
    now: datetime,
    paused: set[int] | None = None,
) -> int:
    """Apply the outcomes of one batch; returns how many deliveries were written. The
    campaigns paused for their policy refusals are added to `paused`.

    The deliveries are updated by one UPDATE … FROM (VALUES …) that also checks the lease,
    and the attempts go in with it, so a batch costs the same few statements whatever its
    size. On PostgreSQL the usual case (nothing to suppress, no account or policy failure) is
    one statement, one round trip: the UPDATE and the INSERT of the attempts together.
    """
    if not outcomes:
        return 0
    if is_plain(outcomes) and connection.vendor == "postgresql":
        return len(_update_deliveries(worker, outcomes, now, with_attempts=True))
    return _write_in_steps(
        worker, deliveries, outcomes, now, paused if paused is not None else set()
    )


def is_plain(outcomes: Sequence[Outcome]) -> bool:
    """The usual outcomes: nothing to suppress, no account or policy failure, no day closed;
    only the deliveries and their attempts to write."""
    return not any(
        o.suppress or o.account_error or o.day_closed or is_policy_refusal(o.attempt, o.enhanced)
        for o in outcomes
    )


@transaction.atomic
def _write_in_steps(
    worker: str,
    deliveries: Sequence[Claimed],
    outcomes: Sequence[Outcome],
    now: datetime,
    paused: set[int],
) -> int:
    written = _update_deliveries(worker, outcomes, now)
    known = {d.pk: d for d in deliveries}
    by_id = {o.delivery_id: o for o in outcomes}
    mine = [known[pk] for pk in written if pk in known]
    tried = [(d, by_id[d.pk]) for d in mine if by_id[d.pk].attempt is not None]
    _insert_attempts(tried, now)
    _suppress(mine, by_id)
    _account_errors([by_id[d.pk] for d in mine])
    _close_days([by_id[d.pk] for d in mine], now)
    paused |= _pause_on_policy_refusals(
        {d.campaign_id for d, o in tried if is_policy_refusal(o.attempt, o.enhanced)}
    )
    return len(mine)


def _update_deliveries(
    worker: str, outcomes: Sequence[Outcome], now: datetime, *, with_attempts: bool = False
) -> list[int]:
    """UPDATE the deliveries still leased to `worker`; their ids. `with_attempts`
    (PostgreSQL): the same statement inserts their attempt rows."""
    postgres = connection.vendor == "postgresql"
    columns = (*COLUMNS, ("attempt", "varchar")) if with_attempts else COLUMNS
    names = ", ".join(name for name, _ in columns)
    if postgres:
        # The rows as one JSON array of arrays: the statement's text is the same for every
        # batch, and json.dumps writes it in C, where the driver's array adapters took a
        # tenth of the worker's time per message in Python.
        fields = ", ".join(f"(e->>{i})::{kind}" for i, (_, kind) in enumerate(columns))
        values = f"SELECT {fields} FROM json_array_elements(%s::json) e"  # noqa: S608 - ours
    else:
        row = "(" + ", ".join("%s" for _ in columns) + ")"
        values = "VALUES " + ", ".join([row] * len(outcomes))
    table = connection.ops.quote_name(Delivery._meta.db_table)
    ts = connection.ops.adapt_datetimefield_value(now)
    update = (
        f"UPDATE {table} SET status = v.status, attempts = {table}.attempts + v.spend, "  # noqa: S608 - our names and %s
        f"next_attempt_at = COALESCE(v.next_at, {table}.next_attempt_at), "
        "lease_owner = '', lease_expires_at = NULL, "
        f"account_id = COALESCE(v.account_id, {table}.account_id), "
        f"message_id = CASE WHEN v.message_id <> '' THEN v.message_id "
        f"ELSE {table}.message_id END, "
        "last_code = v.code, last_enhanced_code = v.enhanced, last_reply = v.reply, "
        f"sent_at = CASE WHEN v.status = 'sent' THEN %s ELSE {table}.sent_at END, "
        "updated_at = %s "
        f"FROM v WHERE {table}.id = v.id AND {table}.lease_owner = %s "
        f"AND {table}.status = 'sending' "
    )
    if with_attempts:
        attempts = connection.ops.quote_name(Attempt._meta.db_table)
        sql = (
            f"WITH v ({names}) AS ({values}), "  # noqa: S608 - only our own names and %s
            f"u AS ({update} RETURNING {table}.id, {table}.workspace_id, "
            f"{table}.campaign_id, {table}.email), "
            f"a AS (INSERT INTO {attempts} ({', '.join(ATTEMPT_COLUMNS)}) "
            "SELECT u.workspace_id, u.campaign_id, u.id, v.account_id, u.email, v.attempt, "
            "v.code, v.enhanced, v.reply, v.message_id, %s "
            "FROM u JOIN v ON v.id = u.id WHERE v.attempt IS NOT NULL) "
            "SELECT id FROM u"
        )
    else:
        sql = f"WITH v ({names}) AS ({values}) {update} RETURNING {table}.id"
    at = (lambda t: t.isoformat()) if postgres else connection.ops.adapt_datetimefield_value
    rows = [
        (o.delivery_id, o.status, int(o.spend_attempt),
         at(o.next_attempt_at) if o.next_attempt_at else None,
         o.account_id, o.message_id, o.code, o.enhanced, _text(o.reply),
         *((o.attempt,) if with_attempts else ()))
        for o in outcomes
    ]  # fmt: skip
    params: list[Any] = [json.dumps(rows)] if postgres else [value for row in rows for value in row]
    params += [ts, ts, worker]
    if with_attempts:
        params.append(ts)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _text(reply: str) -> str:
    """A server's reply as a text column keeps it: at most 2,000 characters, no NUL (which no
    PostgreSQL text holds: one such reply failed its whole chunk's write)."""
    return reply[:2000].replace("\x00", "")


ATTEMPT_COLUMNS = (
    "workspace_id", "campaign_id", "delivery_id", "account_id", "email", "outcome",
    "smtp_code", "enhanced_code", "reply", "message_id", "created_at",
)  # fmt: skip


def _insert_attempts(tried: list[tuple[Claimed, Outcome]], now: datetime) -> None:
    """One attempt row per try, written without a model instance per row."""
    if not tried:
        return
    rows = [
        (d.workspace_id, d.campaign_id, d.pk, o.account_id, d.email, o.attempt, o.code,
         o.enhanced, _text(o.reply), o.message_id, now)
        for d, o in tried
    ]  # fmt: skip
    table = connection.ops.quote_name(Attempt._meta.db_table)
    names = ", ".join(ATTEMPT_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # psycopg's own cursor: COPY is its fastest way in
            with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        stamp = connection.ops.adapt_datetimefield_value(now)
        marks = "(" + ", ".join(["%s"] * len(ATTEMPT_COLUMNS)) + ")"
        for start in range(0, len(rows), 500):  # well under SQLite's bound on parameters
            chunk = rows[start : start + 500]
            params: list[Any] = []
            for row in chunk:
                params += [*row[:-1], stamp]
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES "  # noqa: S608 - our names and %s
                + ", ".join([marks] * len(chunk)),
                params,
            )


SOURCE_MAX = Suppression._meta.get_field("source").max_length or 200


def _suppress(deliveries: list[Claimed], by_id: dict[int, Outcome]) -> None:
    """Unknown users are never sent to again, in any campaign of the workspace."""
    unknown = [d for d in deliveries if by_id[d.pk].suppress]
    if not unknown:
        return
    names = dict(
        Campaign.objects.filter(pk__in={d.campaign_id for d in unknown}).values_list("pk", "name")
    )
    rows = [
        Suppression(
            workspace_id=d.workspace_id,
            email=d.email,
            reason=SuppressionReason.BOUNCED,
            # Cut to the column: a long campaign name plus a reply would overflow it and fail
            # the whole batch's write.
            source=f"campaign “{names.get(d.campaign_id, '')}”: {by_id[d.pk].reply}"[:SOURCE_MAX],
        )
        for d in unknown
    ]
    Suppression.objects.bulk_create(rows, ignore_conflicts=True)


def policy_figures(campaign_id: int) -> tuple[int, int]:
    """A campaign's attempts refused as policy (5.7.x), and all its attempts."""
    attempts = Attempt.objects.filter(campaign_id=campaign_id)
    refused = attempts.filter(
        outcome=AttemptOutcome.PERMANENT, enhanced_code__startswith="5.7"
    ).count()
    return refused, attempts.count()


def _past_threshold(refused: int, attempts: int) -> bool:
    least = int(settings.CAMPAIGN_PAUSE_POLICY_REFUSALS)
    share = float(settings.CAMPAIGN_PAUSE_POLICY_SHARE)
    return past_threshold(refused, attempts, least=least, share=share)


def _pause_on_policy_refusals(campaign_ids: set[int]) -> set[int]:
    """Pause a campaign whose messages the servers keep refusing as policy (spam, blocked):
    going on would only hurt the accounts' reputation. A person looks, then resumes.
    Returns the campaigns paused (those already stopped are left as they are)."""
    paused: set[int] = set()
    for campaign_id in campaign_ids:
        refused, attempts = policy_figures(campaign_id)
        if _past_threshold(refused, attempts):
            campaign = Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.RUNNING)
            if not (running := campaign.first()):
                continue
            why = reason(POLICY_REFUSALS, refused=refused)
            # Through the service, so the change is announced like any other; a campaign paused
            # or cancelled meanwhile is left as it is.
            with contextlib.suppress(CampaignError):
                campaign_pause(campaign=running, reason=why)
                paused.add(campaign_id)
    return paused


def _close_days(outcomes: Sequence[Outcome], now: datetime) -> None:
    for account_id in {o.account_id for o in outcomes if o.day_closed and o.account_id}:
        quota.close_day(account_id=account_id, now=now)


def _account_errors(outcomes: Sequence[Outcome]) -> None:
    failed = {o.account_id: o.account_error for o in outcomes if o.account_error and o.account_id}
    for account in SendingAccount.objects.filter(pk__in=failed):
        account_mark_error(account=account, reason=failed[account.pk])
