"""Claim: take a batch of due deliveries under a lease, so no two workers send the same one.

On PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED, so any number of workers on
any number of machines share the queue without waiting on each other. SQLite has no row
locks: its transactions take the write lock at BEGIN (IMMEDIATE), and only one worker runs.

A lease that runs out (its worker crashed or hung) makes the delivery claimable again, which
is how a crash loses nothing; a worker that finishes late cannot overwrite the new holder's
work, because results are recorded only where the lease is still its own.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection, models, transaction
from django.db.models import QuerySet

from audience.models import STANDARD_FIELDS, Recipient
from campaigns.models import (
    WAITING,
    Attempt,
    AttemptOutcome,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
)
from core.sql import id_array
from sending import quota
from sending.models import AccountStatus, QuotaHold


class Claimed(NamedTuple):
    """A claimed delivery as the engine needs it: plain values, no model instances."""

    pk: int
    campaign_id: int
    workspace_id: int
    email: str
    attempts: int
    last_code: int | None
    last_reply: str
    recipient_id: int | None
    standard: tuple[Any, ...]  # the recipient's STANDARD_FIELDS, in that order
    fields: dict[str, Any] | None  # the recipient's custom fields as stored
    message_id: str = ""  # set once tried: its Message-ID and From domain stay (see send)
    variant_id: int | None = None  # its A/B test variant; None: the campaign's own content


_COLUMNS = (
    "pk", "campaign_id", "workspace_id", "email", "attempts", "last_code", "last_reply",
    "recipient_id", *(f"recipient__{name}" for name in STANDARD_FIELDS), "recipient__fields",
    "message_id", "variant_id",
)  # fmt: skip
_STANDARD = slice(8, 8 + len(STANDARD_FIELDS))


def claimed_rows(*, worker: str, ids: list[int]) -> list[Claimed]:
    """The deliveries of `ids` this worker holds, with their recipients, in one query."""
    rows = Delivery.objects.filter(pk__in=ids, lease_owner=worker).values_list(*_COLUMNS)
    return [Claimed._make((*row[:8], row[_STANDARD], row[-3], row[-2], row[-1])) for row in rows]


def running_campaigns(now: datetime) -> list[int]:
    """Campaigns that may send now: running, not disabled by a platform manager, in a
    workspace whose sending is not stopped, and, for a campaign with a sending window,
    inside it."""
    return list(
        Campaign.objects.filter(
            status=CampaignStatus.RUNNING,
            disabled_at__isnull=True,
            workspace__sending_stopped_at__isnull=True,
        )
        .exclude(window_end__isnull=False, window_end__lte=now)
        .values_list("pk", flat=True)
    )


def _lock(qs: QuerySet[Delivery]) -> QuerySet[Delivery]:
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True, of=("self",))
    return qs


def claim(
    *, worker: str, limit: int, now: datetime, lease: timedelta, busy: Collection[int] = ()
) -> list[int]:
    """Lease up to `limit` deliveries to `worker` and return their ids.

    Expired leases come first (they were due before anything else), then waiting deliveries
    whose time has come, oldest first. Only running campaigns of workspaces whose sending is
    not stopped are claimed: pausing or cancelling a campaign stops its claims at once.
    """
    with transaction.atomic():
        ids = _pick(limit, now, busy)
        if ids:
            Delivery.objects.filter(pk__in=ids).update(
                status=DeliveryStatus.SENDING,
                lease_owner=worker,
                lease_expires_at=now + lease,
                updated_at=now,
            )
    return ids


def claim_batch(
    *,
    worker: str,
    limit: int,
    now: datetime,
    lease: timedelta,
    busy: Collection[int] = (),
) -> list[Claimed]:
    """`claim`, returning the claimed deliveries with their recipients' values. Campaigns
    whose every active account is in `busy` (this worker's lanes still send on them) are
    left for later.

    On PostgreSQL the lease is taken and the rows come back in one statement (UPDATE …
    RETURNING, joined to the recipients); elsewhere `claim` and then `claimed_rows`.
    """
    if connection.vendor != "postgresql":
        ids = claim(worker=worker, limit=limit, now=now, lease=lease, busy=busy)
        return claimed_rows(worker=worker, ids=ids)
    with transaction.atomic():
        ids = _pick(limit, now, busy)
        if not ids:
            return []
        with connection.cursor() as cursor:
            cursor.execute(_claim_sql(), [worker, now + lease, now, id_array(ids)])
            # Django has the driver hand JSON over as text (JSONField decodes it): so here.
            return [
                Claimed._make((*row[:8], tuple(row[8:-3]), _json(row[-3]), row[-2], row[-1]))
                for row in cursor
            ]


def _claim_sql() -> str:
    table = Delivery._meta.db_table
    recipients = Recipient._meta.db_table
    standard = ", ".join(f"r.{_column(Recipient, name)}" for name in STANDARD_FIELDS)
    return (
        f"WITH c AS (UPDATE {table} SET status = 'sending', lease_owner = %s, "  # noqa: S608
        "lease_expires_at = %s, updated_at = %s WHERE id = ANY(%s::bigint[]) "
        "RETURNING id, campaign_id, workspace_id, email, attempts, last_code, last_reply, "
        "recipient_id, message_id, variant_id) SELECT c.id, c.campaign_id, c.workspace_id, "
        f"c.email, c.attempts, c.last_code, c.last_reply, c.recipient_id, {standard}, r.fields, "
        f"c.message_id, c.variant_id FROM c LEFT JOIN {recipients} r ON r.id = c.recipient_id"
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)  # noqa: S101 - a concrete field, by name
    return field.column


def _pick(limit: int, now: datetime, busy: Collection[int] = ()) -> list[int]:
    """The ids to claim, locked (inside the caller's transaction)."""
    campaigns = running_campaigns(now)
    if busy and campaigns:
        campaigns = _servable(campaigns, busy)
    if not campaigns:
        return []
    expired = _lock(
        Delivery.objects.filter(
            campaign_id__in=campaigns,
            status=DeliveryStatus.SENDING,
            lease_expires_at__lt=now,
        ).order_by("lease_expires_at")
    )
    ids = list(expired.values_list("pk", flat=True)[:limit])
    # Each campaign's due deliveries come from its own range of the (campaign, next
    # attempt) index, so a claim costs the same with ten rows or ten million, whatever
    # the planner's statistics say; the batch is shared fairly between campaigns.
    share = max(1, (limit - len(ids)) // len(campaigns))
    for campaign_id in campaigns:
        if len(ids) >= limit:
            break
        due = _lock(
            Delivery.objects.filter(
                campaign_id=campaign_id, status__in=WAITING, next_attempt_at__lte=now
            ).order_by("next_attempt_at", "id")
        )
        ids += list(due.values_list("pk", flat=True)[: min(share, limit - len(ids))])
    return ids


def _servable(campaigns: list[int], busy: Collection[int]) -> list[int]:
    """The campaigns with an active account outside `busy`."""
    links = Campaign.accounts.through.objects.filter(
        campaign_id__in=campaigns, sendingaccount__status=AccountStatus.ACTIVE
    ).exclude(sendingaccount_id__in=list(busy))
    served = set(links.values_list("campaign_id", flat=True))
    return [pk for pk in campaigns if pk in served]


def sweep_stopped(*, now: datetime) -> int:
    """Leases that ran out in campaigns that stopped meanwhile: a paused campaign's deliveries
    wait again, a cancelled one's end cancelled. (Running ones are reclaimed by `claim`.)

    Plain statements: the campaigns with run-out leases (through the leased rows' partial
    index), which of them stopped, then an UPDATE of the outbox by those campaigns. Django
    writes an UPDATE filtered through a join as `id IN (SELECT … JOIN …)`, a self-join whose
    plan, with statistics that still say the table is empty, read every delivery once for
    each delivery: seconds at every step of the engine."""
    stale = Delivery.objects.filter(status=DeliveryStatus.SENDING, lease_expires_at__lt=now)
    leased = set(stale.values_list("campaign_id", flat=True).distinct())
    if not leased:
        return 0
    stopped: dict[str, list[int]] = {}
    for pk, status in Campaign.objects.filter(pk__in=leased, status__in=_SWEPT).values_list(
        "pk", "status"
    ):
        stopped.setdefault(status, []).append(pk)
    done = 0
    for status, ids in stopped.items():
        # The status is checked again in the UPDATE, against these few campaigns only: one
        # resumed or cancelled since the read above is not swept as it was.
        still = Campaign.objects.filter(pk__in=ids, status=status).values("pk")
        done += stale.filter(campaign_id__in=still).update(
            status=_SWEPT[status],
            lease_owner="",
            lease_expires_at=None,
            next_attempt_at=now,  # a paused campaign's, due as soon as it resumes
            updated_at=now,
        )
    return done


# What a run-out lease of a stopped campaign becomes, by the campaign's status.
_SWEPT: dict[str, str] = {
    CampaignStatus.CANCELLED: DeliveryStatus.CANCELLED,
    CampaignStatus.PAUSED: DeliveryStatus.QUEUED,
}


def release(*, worker: str, ids: list[int], now: datetime, due: datetime | None = None) -> int:
    """Give back deliveries this worker leased but did not try (pause, shutdown): due now,
    or at `due`."""
    return Delivery.objects.filter(
        pk__in=ids, lease_owner=worker, status=DeliveryStatus.SENDING
    ).update(
        status=DeliveryStatus.QUEUED,
        lease_owner="",
        lease_expires_at=None,
        next_attempt_at=due or now,
        updated_at=now,
    )


def give_back_unused_room(*, now: datetime) -> int:
    """Room on the accounts that a worker reserved and never settled (it died, or hung past
    its lease) goes back to the accounts' counts, less what its deliveries used: the
    attempts it recorded as sent or ambiguous through that account while the hold ran.
    (Messages it sent without recording them count as unused: they go again, counted then.)
    """
    return quota.give_back_expired(now, _used)


def give_back_room_of(*, worker: str) -> int:
    """`give_back_unused_room` for one worker's holds, at once (its batch failed and its
    deliveries are given back now, to be reserved again when they are claimed again)."""
    return quota.give_back_held(worker, _used)


def _used(hold: QuotaHold) -> int:
    return Attempt.objects.filter(
        delivery_id__in=hold.items,
        account_id=hold.account_id,
        outcome__in=(AttemptOutcome.SENT, AttemptOutcome.AMBIGUOUS),
        created_at__gte=hold.created_at,
        created_at__lte=hold.expires_at,
    ).count()
