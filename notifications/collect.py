"""Turning what happened into notifications: the worker reads the facts lower layers wrote and
makes one row per fact and member told.

Campaigns' and accounts' status changes are logs, read by id after a cursor; import jobs and
webhook endpoints are states, read from a moment (less the settle time); the running
campaigns' rates are looked at every NOTIFICATION_RATE_CHECK_SECONDS. Every row has the fact's
key, unique per user, so a fact read twice is told once; the rows and the moved cursor are
written in one transaction. On PostgreSQL ids are not committed in order, so rows younger than
WEBHOOK_SETTLE_SECONDS wait for the next pass rather than be skipped (as webhooks/collect.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from accounts.models import Membership, Role
from audience.models import AudienceJob, JobKind, JobStatus
from campaigns.models import Campaign, CampaignStatus, CampaignStatusChange
from core import reasons
from notifications.kinds import KINDS, Kind
from notifications.models import Cursor, EmailChoice, Notification
from notifications.rates import near_limit
from notifications.reasons import DAY_CLOSED
from sending.models import AccountStatus, AccountStatusChange, SendingAccount
from webhooks.models import Endpoint
from webhooks.services import DISABLED_BY_USER

PAGE = 500


@dataclass(frozen=True)
class Fact:
    workspace_id: int
    kind: str
    key: str
    subject_name: str
    subject_id: int | None
    reason: str
    at: datetime
    reason_detail: dict[str, Any] | None = None  # core.reasons: the reason in any language


def _settle() -> timedelta:
    seconds = settings.WEBHOOK_SETTLE_SECONDS if connection.vendor != "sqlite" else 0
    return timedelta(seconds=seconds)


def _cursor() -> Cursor:
    cursor = Cursor.objects.select_for_update().order_by("pk").first()
    if cursor is None:  # the migration makes it; a flushed database (tests) starts from 0
        Cursor.objects.create(jobs_since=datetime.fromtimestamp(0, tz=UTC))
        cursor = Cursor.objects.select_for_update().order_by("pk").get()
    return cursor


def _campaign_fact(change: CampaignStatusChange) -> Fact | None:
    if change.action == "finish" and change.status == CampaignStatus.COMPLETED:
        kind = Kind.CAMPAIGN_FINISHED
    elif change.action == "pause" and change.reason:  # paused by the engine, with its reason
        kind = Kind.CAMPAIGN_PAUSED
    elif change.action == "launch_failed":
        kind = Kind.CAMPAIGN_NOT_STARTED
    else:
        return None
    return Fact(
        change.workspace_id,
        kind,
        f"campaign_change:{change.pk}",
        change.campaign_name,
        change.campaign_id,
        change.reason,
        change.created_at,
        change.reason_detail,
    )


def _account_fact(change: AccountStatusChange) -> Fact | None:
    if change.status != AccountStatus.ERROR:
        return None
    return Fact(
        change.workspace_id,
        Kind.ACCOUNT_ERROR,
        f"account_change:{change.pk}",
        f"{change.account_name} <{change.from_email}>",
        change.account_id,
        change.reason,
        change.created_at,
    )


def _read_log(rows: Sequence[CampaignStatusChange | AccountStatusChange], now: datetime) -> int:
    """How many leading rows are settled (no lower id can still commit after them)."""
    limit = now - _settle()
    for index, row in enumerate(rows):
        if row.created_at > limit:
            return index
    return len(rows)


def _job_facts(since: datetime) -> Iterator[Fact]:
    jobs = AudienceJob.objects.filter(
        kind=JobKind.IMPORT,
        status__in=(JobStatus.DONE, JobStatus.FAILED),
        finished_at__gte=since,
    ).order_by("finished_at", "pk")
    for job in jobs:
        failed = job.status == JobStatus.FAILED
        yield Fact(
            job.workspace_id,
            Kind.IMPORT_FAILED if failed else Kind.IMPORT_DONE,
            f"job:{job.pk}",
            job.file_name or f"#{job.pk}",
            job.pk,
            job.error if failed else "",
            job.finished_at or job.created_at,
            job.error_detail if failed else None,
        )


def _endpoint_facts() -> Iterator[Fact]:
    """Endpoints the worker turned off: one fact per run of failures (failing_since)."""
    turned_off = (
        Endpoint.objects.filter(active=False, failing_since__isnull=False)
        .exclude(disabled_reason=DISABLED_BY_USER)
        .exclude(disabled_reason="")
        .order_by("pk")
    )
    for endpoint in turned_off:
        assert endpoint.failing_since is not None  # noqa: S101 - filtered above
        yield Fact(
            endpoint.workspace_id,
            Kind.WEBHOOK_DISABLED,
            f"webhook_off:{endpoint.pk}:{endpoint.failing_since.timestamp():.6f}",
            endpoint.url,
            endpoint.pk,
            endpoint.disabled_reason,
            endpoint.failing_since,
        )


def _day_closed_facts(now: datetime) -> Iterator[Fact]:
    """Accounts whose provider ended their day before their own limit, in the last two days
    (a fact is told once per account and day: its key)."""
    recent = SendingAccount.objects.filter(
        day_closed_on__gte=(now - timedelta(days=2)).date()
    ).order_by("pk")
    for account in recent:
        why = reasons.reason(DAY_CLOSED, sent=account.day_closed_after, limit=account.daily_limit)
        yield Fact(
            account.workspace_id,
            Kind.ACCOUNT_DAY_CLOSED,
            f"account_day_closed:{account.pk}:{account.day_closed_on}",
            f"{account.name} <{account.from_email}>",
            account.pk,
            why.text,
            now,
            why.detail,
        )


def _rate_facts(now: datetime) -> Iterator[Fact]:
    for campaign in Campaign.objects.filter(status=CampaignStatus.RUNNING).order_by("pk"):
        reason = near_limit(campaign.pk)
        if reason:
            yield Fact(
                campaign.workspace_id,
                Kind.RATE_WARNING,
                f"rate_warning:{campaign.pk}",
                campaign.name,
                campaign.pk,
                reason,
                now,
            )


@transaction.atomic
def collect(*, now: datetime) -> bool:
    """Make the notifications of the facts since the cursor and move it; True if a full page
    of a log was read (more may be waiting)."""
    cursor = _cursor()
    facts: list[Fact] = []
    campaign_page = list(
        CampaignStatusChange.objects.filter(id__gt=cursor.campaign_change_id).order_by("id")[:PAGE]
    )
    settled = campaign_page[: _read_log(campaign_page, now)]
    facts += [f for f in map(_campaign_fact, settled) if f]
    if settled:
        cursor.campaign_change_id = settled[-1].pk
    account_page = list(
        AccountStatusChange.objects.filter(id__gt=cursor.account_change_id).order_by("id")[:PAGE]
    )
    account_settled = account_page[: _read_log(account_page, now)]
    facts += [f for f in map(_account_fact, account_settled) if f]
    if account_settled:
        cursor.account_change_id = account_settled[-1].pk
    facts += _job_facts(cursor.jobs_since - _settle())
    cursor.jobs_since = now
    facts += _endpoint_facts()
    facts += _day_closed_facts(now)
    every = timedelta(seconds=settings.NOTIFICATION_RATE_CHECK_SECONDS)
    if cursor.rates_checked_at is None or cursor.rates_checked_at + every <= now:
        facts += _rate_facts(now)
        cursor.rates_checked_at = now
    tell(facts, now=now)
    cursor.updated_at = now
    cursor.save()
    return PAGE in (len(campaign_page), len(account_page))


def _members(workspace_ids: Iterable[int]) -> dict[int, list[tuple[int, str]]]:
    """Each workspace's active members (user id, role)."""
    found: dict[int, list[tuple[int, str]]] = {}
    rows = Membership.objects.filter(workspace_id__in=set(workspace_ids), user__is_active=True)
    for workspace_id, user_id, role in rows.values_list("workspace_id", "user_id", "role"):
        found.setdefault(workspace_id, []).append((user_id, role))
    return found


def tell(facts: list[Fact], *, now: datetime) -> int:
    """One row per fact and member whose role may see it, e-mail due where chosen; a fact
    already told to someone is left as it is. Returns the rows made."""
    if not facts:
        return 0
    members = _members(f.workspace_id for f in facts)
    user_ids = {user_id for rows in members.values() for user_id, _ in rows}
    choices = {
        (user_id, kind): by_email
        for user_id, kind, by_email in EmailChoice.objects.filter(user_id__in=user_ids).values_list(
            "user_id", "kind", "by_email"
        )
    }
    rows = []
    for fact in facts:
        info = KINDS[fact.kind]
        for user_id, role in members.get(fact.workspace_id, []):
            if Role.rank(role) < Role.rank(info.role):
                continue
            by_email = choices.get((user_id, fact.kind), info.email)
            rows.append(
                Notification(
                    workspace_id=fact.workspace_id,
                    user_id=user_id,
                    kind=fact.kind,
                    key=fact.key,
                    subject_name=fact.subject_name[:500],
                    subject_id=fact.subject_id,
                    reason=fact.reason[:1000],
                    reason_detail=fact.reason_detail,
                    created_at=fact.at,
                    email_after=now if by_email else None,
                )
            )
    return len(Notification.objects.bulk_create(rows, ignore_conflicts=True))


def start_cursor() -> None:
    """Where a new install starts reading: after what already happened (the migration)."""
    Cursor.objects.create(
        campaign_change_id=CampaignStatusChange.objects.aggregate(m=Max("id"))["m"] or 0,
        account_change_id=AccountStatusChange.objects.aggregate(m=Max("id"))["m"] or 0,
    )


__all__ = ["Fact", "collect", "start_cursor", "tell"]
