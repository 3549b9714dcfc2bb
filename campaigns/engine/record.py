"""Record: write a batch's outcomes at once — deliveries, attempts, suppressions, accounts.

Only deliveries whose lease is still the worker's are written: a worker that was too slow
and lost its lease to another cannot overwrite the newer holder's result.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audience.models import Suppression, SuppressionReason
from campaigns.engine.claim import lock_rows
from campaigns.engine.send import Outcome
from campaigns.models import (
    Attempt,
    AttemptOutcome,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
)
from sending.models import SendingAccount
from sending.services import account_mark_error

FIELDS = (
    "status", "attempts", "next_attempt_at", "lease_owner", "lease_expires_at", "account",
    "message_id", "last_code", "last_enhanced_code", "last_reply", "sent_at", "updated_at",
)  # fmt: skip


@transaction.atomic
def write_outcomes(*, worker: str, outcomes: Sequence[Outcome], now: datetime) -> int:
    """Apply the outcomes of one batch; returns how many deliveries were written."""
    by_id = {o.delivery_id: o for o in outcomes}
    deliveries = list(
        lock_rows(
            Delivery.objects.filter(
                pk__in=by_id, lease_owner=worker, status=DeliveryStatus.SENDING
            ).select_related("campaign")
        )
    )
    attempts: list[Attempt] = []
    for delivery in deliveries:
        outcome = by_id[delivery.pk]
        _apply(delivery, outcome, now)
        if outcome.attempt is not None:
            attempts.append(_attempt(delivery, outcome, now))
    Delivery.objects.bulk_update(deliveries, FIELDS, batch_size=500)
    Attempt.objects.bulk_create(attempts, batch_size=500)
    _suppress(deliveries, by_id)
    _account_errors(outcomes)
    _pause_on_policy_refusals({a.campaign_id for a in attempts if _is_policy_refusal(a)})
    return len(deliveries)


def _apply(delivery: Delivery, outcome: Outcome, now: datetime) -> None:
    delivery.status = outcome.status
    delivery.lease_owner = ""
    delivery.lease_expires_at = None
    delivery.updated_at = now
    if outcome.spend_attempt:
        delivery.attempts = F("attempts") + 1
    if outcome.next_attempt_at is not None:
        delivery.next_attempt_at = outcome.next_attempt_at
    if outcome.account_id is not None:
        delivery.account_id = outcome.account_id
    if outcome.message_id:
        delivery.message_id = outcome.message_id
    delivery.last_code = outcome.code
    delivery.last_enhanced_code = outcome.enhanced
    delivery.last_reply = outcome.reply[:2000]
    if outcome.status == DeliveryStatus.SENT:
        delivery.sent_at = now


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
