"""Reads for the campaign pages: lists, progress, the report and the workspace's log.

Every selector takes the workspace (or a campaign already looked up in it) first and never
returns rows of another workspace. Tables that grow to millions of rows (deliveries, attempts)
are paged by keyset (time or id, then id) and counted only with GROUP BY on indexed columns.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Workspace
from audience.models import ListMembership, RecipientList, Segment
from audience.selectors import RecipientFilter, recipients_matching, segment_q
from campaigns.engine.launch import AudienceCount, audience_count
from campaigns.models import (
    OPEN,
    Attempt,
    AttemptOutcome,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
)

PAGE_SIZE = 50
# Rate per minute is measured over this recent window: long enough to smooth batches out.
RATE_WINDOW = timedelta(minutes=5)
ACTIVE = (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.PAUSED)

RowT = TypeVar("RowT")


# --------------------------------------------------------------------------- campaigns


def campaigns_of(workspace: Workspace, *, single: bool = False) -> QuerySet[Campaign]:
    """Campaigns (or, with `single`, the queued single e-mails), newest first."""
    return Campaign.objects.filter(workspace=workspace, is_single=single).order_by(
        "-created_at", "-id"
    )


def campaign_get(workspace: Workspace, campaign_id: int) -> Campaign | None:
    return Campaign.objects.filter(workspace=workspace, pk=campaign_id).first()


def delivery_get(workspace: Workspace, delivery_id: int) -> Delivery | None:
    return (
        Delivery.objects.filter(workspace=workspace, pk=delivery_id)
        .select_related("campaign")
        .first()
    )


def status_counts_many(campaign_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Deliveries per status for each campaign, in one GROUP BY (index campaign, status)."""
    counts: dict[int, dict[str, int]] = {}
    rows = (
        Delivery.objects.filter(campaign_id__in=list(campaign_ids))
        .order_by()
        .values_list("campaign_id", "status")
        .annotate(n=Count("pk"))
    )
    for campaign_id, status, n in rows:
        counts.setdefault(campaign_id, {})[status] = n
    return counts


@dataclass(frozen=True)
class Progress:
    """Where a campaign stands: counts per delivery status, rate and estimated time to finish."""

    counts: dict[str, int]
    total: int
    rate_per_minute: float
    eta: timedelta | None

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(s, 0) for s in OPEN)

    @property
    def done(self) -> int:
        return self.total - self.waiting

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(self.done * 100 / self.total)

    @property
    def eta_text(self) -> str:
        if self.eta is None:
            return ""
        minutes = int(self.eta.total_seconds() // 60)
        if minutes < 1:
            return "under a minute"
        hours, minutes = divmod(minutes, 60)
        return f"about {hours} h {minutes} min" if hours else f"about {minutes} min"

    @property
    def rows(self) -> list[tuple[str, str, int]]:
        """(status, label, count) for every status that has deliveries, in the model's order."""
        return [
            (value, label, self.counts[value])
            for value, label in DeliveryStatus.choices
            if self.counts.get(value)
        ]


def campaign_progress(campaign: Campaign, now: datetime | None = None) -> Progress:
    """Counts (one GROUP BY), rate and ETA.

    While running, the rate is what was sent in the last minutes (index campaign, time); once
    finished it is the average over the whole run.
    """
    now = now or timezone.now()
    counts = status_counts_many([campaign.pk]).get(campaign.pk, {})
    total = sum(counts.values())
    if campaign.status == CampaignStatus.RUNNING:
        recent = Attempt.objects.filter(
            campaign=campaign, created_at__gte=now - RATE_WINDOW, outcome=AttemptOutcome.SENT
        ).count()
        rate = recent / (RATE_WINDOW.total_seconds() / 60)
    elif campaign.launched_at and campaign.finished_at:
        seconds = max((campaign.finished_at - campaign.launched_at).total_seconds(), 1.0)
        rate = counts.get(DeliveryStatus.SENT, 0) * 60 / seconds
    else:
        rate = 0.0
    progress = Progress(counts=counts, total=total, rate_per_minute=rate, eta=None)
    if rate > 0 and progress.waiting and campaign.status == CampaignStatus.RUNNING:
        progress = Progress(counts, total, rate, timedelta(minutes=progress.waiting / rate))
    return progress


def audience_preview(
    workspace: Workspace, *, list_ids: list[int], segment_ids: list[int], picked: dict[str, Any]
) -> AudienceCount:
    """What an audience being edited would reach, before it is saved: the launch's own count.

    Lists and segments of another workspace count nobody. Raises SegmentError when a segment
    or the picked filter cannot be compiled.
    """
    sources: list[Q] = []
    for list_id in RecipientList.objects.filter(workspace=workspace, pk__in=list_ids).values_list(
        "pk", flat=True
    ):
        members = ListMembership.objects.filter(recipient_list_id=list_id)
        sources.append(Q(pk__in=members.values("recipient_id")))
    for segment in Segment.objects.filter(workspace=workspace, pk__in=segment_ids):
        sources.append(segment_q(workspace, segment.definition))
    if picked:
        chosen = recipients_matching(workspace, RecipientFilter.from_params(picked))
        sources.append(Q(pk__in=chosen.values("pk")))
    return audience_count(Campaign(workspace=workspace), sources)


def campaign_audience(campaign: Campaign) -> AudienceCount:
    """Who the campaign reaches and who is left out, as its page shows it: counted now while
    it can still change (draft, scheduled), as the launch counted it afterwards.

    Raises SegmentError when one of its segments no longer compiles (only before the launch).
    """
    if campaign.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        return audience_count(campaign)
    return AudienceCount(
        reachable=campaign.audience_total,
        suppressed=campaign.excluded_suppressed,
        unsubscribed=campaign.excluded_unsubscribed,
        duplicates=campaign.excluded_duplicates,
    )


# --------------------------------------------------------------------------- keyset pages


@dataclass
class KeysetPage(Generic[RowT]):
    rows: list[RowT]
    next_cursor: str = ""


def encode_cursor(value: Any, pk: int) -> str:
    text = value.isoformat() if isinstance(value, datetime) else value
    return base64.urlsafe_b64encode(json.dumps([text, pk]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, int] | None:
    """The (value, id) of an opaque cursor, or None when it is empty or was tampered with."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        return value, int(pk)
    except (ValueError, TypeError):
        return None


def _page_by_time(qs: QuerySet[Any], cursor: str, size: int) -> KeysetPage[Any]:
    """Newest first by (created_at, id): no OFFSET, no COUNT, page 1,000 costs page 1."""
    qs = qs.order_by("-created_at", "-pk")
    after = decode_cursor(cursor)
    if after is not None:
        try:
            when = datetime.fromisoformat(str(after[0]))
        except ValueError:
            when = None
        if when is not None:
            qs = qs.filter(Q(created_at__lt=when) | Q(created_at=when, pk__lt=after[1]))
    rows = list(qs[: size + 1])
    if len(rows) <= size:
        return KeysetPage(rows)
    last = rows[size - 1]
    return KeysetPage(rows[:size], encode_cursor(last.created_at, last.pk))


def _page_by_id(
    qs: QuerySet[Any], cursor: str, size: int, *, newest_first: bool = False
) -> KeysetPage[Any]:
    qs = qs.order_by("-pk" if newest_first else "pk")
    after = decode_cursor(cursor)
    if after is not None:
        qs = qs.filter(pk__lt=after[1]) if newest_first else qs.filter(pk__gt=after[1])
    rows = list(qs[: size + 1])
    if len(rows) <= size:
        return KeysetPage(rows)
    return KeysetPage(rows[:size], encode_cursor(None, rows[size - 1].pk))


def campaigns_page(workspace: Workspace, cursor: str = "") -> KeysetPage[Campaign]:
    """One page of the campaign list (single e-mails have their own queue page)."""
    page: KeysetPage[Campaign] = _page_by_time(campaigns_of(workspace), cursor, PAGE_SIZE)
    return page


def progress_of_counts(counts: dict[str, int]) -> Progress:
    """Progress from counts already read (the list page reads them for a whole page at once)."""
    return Progress(counts=counts, total=sum(counts.values()), rate_per_minute=0.0, eta=None)


# --------------------------------------------------------------------------- deliveries


@dataclass(frozen=True)
class DeliveryFilter:
    status: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params: Any) -> DeliveryFilter:
        status = str(params.get("status") or "")
        return cls(
            status=status if status in DeliveryStatus.values else "",
            q=str(params.get("q") or "").strip()[:254],
        )


def deliveries_matching(campaign: Campaign, flt: DeliveryFilter) -> QuerySet[Delivery]:
    qs = Delivery.objects.filter(campaign=campaign, workspace_id=campaign.workspace_id)
    if flt.status:
        qs = qs.filter(status=flt.status)
    if flt.q:
        qs = qs.filter(email__icontains=flt.q)
    return qs.select_related("account")


@dataclass(frozen=True)
class DeliverySearch:
    """The workspace-wide search of deliveries (the API's); each part is ANDed.

    `email` is the whole address (case does not matter); `since`/`until` bound the time of
    the delivery's last change.
    """

    campaign_id: int | None = None
    status: str = ""
    email: str = ""
    account_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def deliveries_search(workspace: Workspace, search: DeliverySearch) -> QuerySet[Delivery]:
    """The workspace's deliveries that pass `search`; a foreign campaign id finds nothing."""
    qs = Delivery.objects.filter(workspace=workspace)
    if search.campaign_id is not None:
        qs = qs.filter(campaign_id=search.campaign_id)
    if search.status:
        qs = qs.filter(status=search.status)
    if search.email:
        qs = qs.filter(email__iexact=search.email)
    if search.account_id is not None:
        qs = qs.filter(account_id=search.account_id)
    if search.since is not None:
        qs = qs.filter(updated_at__gte=search.since)
    if search.until is not None:
        qs = qs.filter(updated_at__lt=search.until)
    return qs


def deliveries_page(
    campaign: Campaign, flt: DeliveryFilter, cursor: str = "", size: int = PAGE_SIZE
) -> KeysetPage[Delivery]:
    """One page of a campaign's deliveries, in the order they were queued."""
    page: KeysetPage[Delivery] = _page_by_id(deliveries_matching(campaign, flt), cursor, size)
    return page


def singles_page(workspace: Workspace, cursor: str = "") -> KeysetPage[Delivery]:
    """The deliveries of single e-mails (djangoMailer's "Emails queue"), newest first."""
    qs = Delivery.objects.filter(workspace=workspace, campaign__is_single=True).select_related(
        "campaign", "account"
    )
    page: KeysetPage[Delivery] = _page_by_id(qs, cursor, PAGE_SIZE, newest_first=True)
    return page


# --------------------------------------------------------------------------- attempts


@dataclass(frozen=True)
class AttemptFilter:
    """The log's filters; each part is ANDed. Dates are the workspace's local days."""

    campaign_id: int | None = None
    outcome: str = ""
    account_id: int | None = None
    email: str = ""
    since: datetime | None = None
    until: datetime | None = None
    delivery_id: int | None = None


def attempts_matching(workspace: Workspace, flt: AttemptFilter) -> QuerySet[Attempt]:
    """The workspace's attempts that pass the filter, on the index (workspace, created_at)."""
    qs = Attempt.objects.filter(workspace=workspace)
    if flt.campaign_id is not None:
        qs = qs.filter(campaign_id=flt.campaign_id)
    if flt.delivery_id is not None:
        qs = qs.filter(delivery_id=flt.delivery_id)
    if flt.outcome:
        qs = qs.filter(outcome=flt.outcome)
    if flt.account_id is not None:
        qs = qs.filter(account_id=flt.account_id)
    if flt.email:
        qs = qs.filter(email__icontains=flt.email)
    if flt.since is not None:
        qs = qs.filter(created_at__gte=flt.since)
    if flt.until is not None:
        qs = qs.filter(created_at__lt=flt.until)
    return qs.select_related("account", "campaign")


def attempts_page(
    workspace: Workspace, flt: AttemptFilter, cursor: str = "", size: int = PAGE_SIZE
) -> KeysetPage[Attempt]:
    page: KeysetPage[Attempt] = _page_by_time(attempts_matching(workspace, flt), cursor, size)
    return page
