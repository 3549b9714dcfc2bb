"""Record: write a batch's outcomes at once — deliveries, attempts, suppressions, accounts.

Only deliveries whose lease is still the worker's are written: a worker that was too slow
and lost its lease to another cannot overwrite the newer holder's result.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audience.models import Suppression, SuppressionReason
from campaigns.engine.send import Outcome
from campaigns.models import (
    Attempt,
    AttemptOutcome,
    Campaign,
    CampaignStatus,
    Delivery,
)
from sending.models import SendingAccount
from sending.services import account_mark_error

# One row of the VALUES list per delivery; PostgreSQL needs the types spelled out once.
COLUMNS = (
    ("id", "bigint"), ("status", "varchar"), ("spend", "integer"),
    ("next_at", "timestamptz"), ("account_id", "bigint"), ("message_id", "varchar"),
    ("code", "integer"), ("enhanced", "varchar"), ("reply", "text"),
)  # fmt: skip


@transaction.atomic
def write_outcomes(
    *, worker: str, deliveries: Sequence[Delivery], outcomes: Sequence[Outcome], now: datetime
) -> int:
    """Apply the outcomes of one batch; returns how many deliveries were written.

    The deliveries are updated by one UPDATE … FROM (VALUES …) that also checks the lease,
    so a batch costs the same few statements whatever its size.
    """
    if not outcomes:
        return 0
    written = _update_deliveries(worker, outcomes, now)
    known = {d.pk: d for d in deliveries}
    by_id = {o.delivery_id: o for o in outcomes}
    mine = [known[pk] for pk in written if pk in known]
    attempts = [_attempt(d, by_id[d.pk], now) for d in mine if by_id[d.pk].attempt is not None]
    Attempt.objects.bulk_create(attempts, batch_size=1000)
    _suppress(mine, by_id)
    _account_errors([by_id[d.pk] for d in mine])
    _pause_on_policy_refusals({a.campaign_id for a in attempts if _is_policy_refusal(a)})
    return len(mine)


def _update_deliveries(worker: str, outcomes: Sequence[Outcome], now: datetime) -> list[int]:
    postgres = connection.vendor == "postgresql"
    first = "(" + ", ".join(f"%s::{kind}" if postgres else "%s" for _, kind in COLUMNS) + ")"
    rest = "(" + ", ".join("%s" for _ in COLUMNS) + ")"
    rows = ", ".join([first, *([rest] * (len(outcomes) - 1))])
    names = ", ".join(name for name, _ in COLUMNS)
    table = connection.ops.quote_name(Delivery._meta.db_table)
    ts = connection.ops.adapt_datetimefield_value(now)
    sql = (
        f"WITH v ({names}) AS (VALUES {rows}) "  # noqa: S608 - only our own names and %s
        f"UPDATE {table} SET status = v.status, attempts = {table}.attempts + v.spend, "
        f"next_attempt_at = COALESCE(v.next_at, {table}.next_attempt_at), "
        "lease_owner = '', lease_expires_at = NULL, "
        f"account_id = COALESCE(v.account_id, {table}.account_id), "
        f"message_id = CASE WHEN v.message_id <> '' THEN v.message_id "
        f"ELSE {table}.message_id END, "
        "last_code = v.code, last_enhanced_code = v.enhanced, last_reply = v.reply, "
        f"sent_at = CASE WHEN v.status = 'sent' THEN %s ELSE {table}.sent_at END, "
        "updated_at = %s "
        f"FROM v WHERE {table}.id = v.id AND {table}.lease_owner = %s "
        f"AND {table}.status = 'sending' RETURNING {table}.id"
    )
    params: list[Any] = []
    for o in outcomes:
        next_at = (
            connection.ops.adapt_datetimefield_value(o.next_attempt_at)
            if o.next_attempt_at
            else None
        )
        params += [o.delivery_id, o.status, int(o.spend_attempt), next_at, o.account_id,
                   o.message_id, o.code, o.enhanced, o.reply[:2000]]  # fmt: skip
    params += [ts, ts, worker]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _attempt(delivery: Delivery, outcome: Outcome, now: datetime) -> Attempt:
    assert outcome.attempt is not None  # noqa: S101 - the caller checked
    return Attempt(
        workspace_id=delivery.workspace_id,
        campaign_id=delivery.campaign_id,
        delivery_id=delivery.pk,
        account_id=outcome.account_id,
        email=delivery.email,
        outcome=outcome.attempt,
        smtp_code=outcome.code,
        enhanced_code=outcome.enhanced,
        reply=outcome.reply[:2000],
        message_id=outcome.message_id,
        created_at=now,
    )


def _suppress(deliveries: list[Delivery], by_id: dict[int, Outcome]) -> None:
    """Unknown users are never sent to again, in any campaign of the workspace."""
    rows = [
        Suppression(
            workspace_id=d.workspace_id,
            email=d.email,
            reason=SuppressionReason.BOUNCED,
            source=f"campaign “{d.campaign.name}”: {by_id[d.pk].reply[:150]}",
        )
        for d in deliveries
        if by_id[d.pk].suppress
    ]
    Suppression.objects.bulk_create(rows, ignore_conflicts=True)


def _is_policy_refusal(attempt: Attempt) -> bool:
    return attempt.outcome == AttemptOutcome.PERMANENT and attempt.enhanced_code.startswith("5.7")


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
            Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.RUNNING).update(
                status=CampaignStatus.PAUSED,
                status_changed_at=timezone.now(),
                status_reason=f"Paused after {refused} policy refusals (5.7.x): check the "
                "accounts' reputation and the content before resuming.",
            )


def _account_errors(outcomes: Sequence[Outcome]) -> None:
    failed = {o.account_id: o.account_error for o in outcomes if o.account_error and o.account_id}
    for account in SendingAccount.objects.filter(pk__in=failed):
        account_mark_error(account=account, reason=failed[account.pk])
