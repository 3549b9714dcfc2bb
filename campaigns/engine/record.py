"""Record: write a batch's outcomes at once — deliveries, attempts, suppressions, accounts.

Only deliveries whose lease is still the worker's are written: a worker that was too slow
and lost its lease to another cannot overwrite the newer holder's result.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audience.models import Suppression, SuppressionReason
from campaigns.engine.claim import Claimed
from campaigns.engine.send import Outcome
from campaigns.models import (
    Attempt,
    AttemptOutcome,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
)
from campaigns.services import CampaignError, campaign_pause
from sending.models import SendingAccount
from sending.services import account_mark_error

# Outcomes kept before they are written: a worker killed at any moment has sent at most this
# many messages (plus those in flight) that it did not record, and that will go again.
FLUSH_EVERY = 90
# ... and at most this long: a slow server still sees its results recorded as they come.
FLUSH_SECONDS = 1.0


class Recorder:
    """Writes a claimed batch's outcomes as they come, in chunks, and keeps the batch's lease
    alive while its worker is still sending it (a batch may take longer than one lease)."""

    def __init__(self, *, worker: str, deliveries: Sequence[Claimed], lease: timedelta) -> None:
        self.worker = worker
        self.lease = lease
        self.open = {d.pk: d for d in deliveries}  # claimed, not yet written
        self.pending: list[Outcome] = []
        self.flushed_at = self.renewed_at = time.monotonic()

    def __call__(self, outcome: Outcome) -> None:
        self.pending.append(outcome)
        if len(self.pending) >= FLUSH_EVERY or time.monotonic() - self.flushed_at > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write what is pending; renew the lease of the rest when a third of it has passed."""
        if self.pending:
            rows = [self.open.pop(o.delivery_id) for o in self.pending]
            write_outcomes(
                worker=self.worker, deliveries=rows, outcomes=self.pending, now=timezone.now()
            )
            self.pending = []
        self.flushed_at = time.monotonic()
        if self.open and self.flushed_at - self.renewed_at > self.lease.total_seconds() / 3:
            renew_lease(worker=self.worker, ids=list(self.open), until=timezone.now() + self.lease)
            self.renewed_at = self.flushed_at


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
    *, worker: str, deliveries: Sequence[Claimed], outcomes: Sequence[Outcome], now: datetime
) -> int:
    """Apply the outcomes of one batch; returns how many deliveries were written.

    The deliveries are updated by one UPDATE … FROM (VALUES …) that also checks the lease,
    and the attempts go in with it, so a batch costs the same few statements whatever its
    size. On PostgreSQL the usual case (nothing to suppress, no account or policy failure) is
    one statement, one round trip: the UPDATE and the INSERT of the attempts together.
    """
    if not outcomes:
        return 0
    plain = not any(
        o.suppress or o.account_error or _is_policy_refusal(o.attempt, o.enhanced) for o in outcomes
    )
    if plain and connection.vendor == "postgresql":
        return len(_update_deliveries(worker, outcomes, now, with_attempts=True))
    return _write_in_steps(worker, deliveries, outcomes, now)


@transaction.atomic
def _write_in_steps(
    worker: str, deliveries: Sequence[Claimed], outcomes: Sequence[Outcome], now: datetime
) -> int:
    written = _update_deliveries(worker, outcomes, now)
    known = {d.pk: d for d in deliveries}
    by_id = {o.delivery_id: o for o in outcomes}
    mine = [known[pk] for pk in written if pk in known]
    tried = [(d, by_id[d.pk]) for d in mine if by_id[d.pk].attempt is not None]
    _insert_attempts(tried, now)
    _suppress(mine, by_id)
    _account_errors([by_id[d.pk] for d in mine])
    _pause_on_policy_refusals(
        {d.campaign_id for d, o in tried if _is_policy_refusal(o.attempt, o.enhanced)}
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
        # One array per column: the statement's text is the same for every batch, so the
        # driver prepares it once instead of parsing thousands of placeholders each time.
        arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
        values = f"SELECT * FROM unnest({arrays})"  # noqa: S608 - our types and %s
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
    rows = [
        (o.delivery_id, o.status, int(o.spend_attempt),
         connection.ops.adapt_datetimefield_value(o.next_attempt_at) if o.next_attempt_at else None,
         o.account_id, o.message_id, o.code, o.enhanced, o.reply[:2000],
         *((o.attempt,) if with_attempts else ()))
        for o in outcomes
    ]  # fmt: skip
    params: list[Any] = (
        [list(column) for column in zip(*rows, strict=True)]
        if postgres
        else [value for row in rows for value in row]
    )
    params += [ts, ts, worker]
    if with_attempts:
        params.append(ts)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


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
         o.enhanced, o.reply[:2000], o.message_id, now)
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
            source=f"campaign “{names.get(d.campaign_id, '')}”: {by_id[d.pk].reply[:150]}",
        )
        for d in unknown
    ]
    Suppression.objects.bulk_create(rows, ignore_conflicts=True)


def _is_policy_refusal(outcome: str | None, enhanced: str) -> bool:
    return outcome == AttemptOutcome.PERMANENT and enhanced.startswith("5.7")


def _pause_on_policy_refusals(campaign_ids: set[int]) -> None:
    """Pause a campaign whose messages the servers keep refusing as policy (spam, blocked):
    going on would only hurt the accounts' reputation. A person looks, then resumes."""
    least = settings.CAMPAIGN_PAUSE_POLICY_REFUSALS
    share = settings.CAMPAIGN_PAUSE_POLICY_SHARE
    for campaign_id in campaign_ids:
        attempts = Attempt.objects.filter(campaign_id=campaign_id)
        refused = attempts.filter(
            outcome=AttemptOutcome.PERMANENT, enhanced_code__startswith="5.7"
        ).count()
        if refused >= least and refused >= share * attempts.count():
            campaign = Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.RUNNING)
            if not (running := campaign.first()):
                continue
            reason = (
                f"Paused after {refused} policy refusals (5.7.x): check the accounts' "
                "reputation and the content before resuming."
            )
            # Through the service, so the change is announced like any other; a campaign paused
            # or cancelled meanwhile is left as it is.
            with contextlib.suppress(CampaignError):
                campaign_pause(campaign=running, reason=reason)


def _account_errors(outcomes: Sequence[Outcome]) -> None:
    failed = {o.account_id: o.account_error for o in outcomes if o.account_error and o.account_id}
    for account in SendingAccount.objects.filter(pk__in=failed):
        account_mark_error(account=account, reason=failed[account.pk])
