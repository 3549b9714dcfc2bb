"""Reads for the campaign pages: lists, progress, the report and the workspace's log.

Every selector takes the workspace (or a campaign already looked up in it) first and never
returns rows of another workspace. Tables that grow to millions of rows (deliveries, attempts)
are paged by keyset (time or id, then id) and counted only with GROUP BY on indexed columns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce, Lower, StrIndex, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Workspace
from audience.models import ListMembership, Recipient, RecipientList, Segment
from audience.selectors import (
    RecipientFilter,
    recipients_matching,
    search_q,
    segment_q,
    whole_address,
)
from campaigns.engine.launch import AudienceCount, audience_count
from campaigns.engine.send import delivery_values, frozen_parts
from campaigns.models import (
    OPEN,
    AbTest,
    AbTestKind,
    Attempt,
    AttemptOutcome,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    ResendRecipient,
    SentTally,
)
from content.rendering import TemplateParts
from content.selectors import template_name_of
from core.compiled import Compiled
from core.index_order import in_index_order
from core.keyset import KeysetPage, keyset_page
from core.single_flight import SingleFlight
from sending import quota, warmup
from sending.models import AccountStatus, SendingAccount
from sending.selectors import ENCRYPTED_COLUMNS

PAGE_SIZE = 50
# Rate per minute is measured over this recent window: long enough to smooth batches out.
RATE_WINDOW = timedelta(minutes=5)
ACTIVE = (
    CampaignStatus.SCHEDULED,
    CampaignStatus.LAUNCHING,
    CampaignStatus.RUNNING,
    CampaignStatus.PAUSED,
)
# Deliveries whose message a server took: sent, and those that bounced or were complained
# about afterwards.
ACCEPTED = (DeliveryStatus.SENT, DeliveryStatus.BOUNCED, DeliveryStatus.COMPLAINED)


# --------------------------------------------------------------------------- campaigns


def campaigns_of(workspace: Workspace, *, single: bool = False) -> QuerySet[Campaign]:
    """Campaigns (or, with `single`, the queued single e-mails), newest first."""
    return Campaign.objects.filter(
        workspace=workspace, is_single=single, sequence_step=False
    ).order_by("-created_at", "-id")


def campaign_get(workspace: Workspace, campaign_id: int) -> Campaign | None:
    return _CAMPAIGN.first(workspace_id=workspace.pk, pk=campaign_id)


def campaign_page_get(workspace: Workspace, campaign_id: int) -> Campaign | None:
    """`campaign_get` for the campaign's page: its A/B test (or its absence) and its
    template's name (`template_name`, "" once the template is gone) come in the same query."""
    return _CAMPAIGN_PAGE.first(workspace_id=workspace.pk, pk=campaign_id)


# Every page of a campaign, and its progress polled every few seconds while it sends, reads
# it by id: compiled once (core.compiled). One row by its key: nothing to sort.
_CAMPAIGN = Compiled(
    lambda workspace_id, pk: Campaign.objects.filter(workspace_id=workspace_id, pk=pk).order_by()[
        :1
    ],
    workspace_id=-7_000_000_001,
    pk=-7_000_000_002,
)
_CAMPAIGN_PAGE = Compiled(
    lambda workspace_id, pk: (
        Campaign.objects.filter(workspace_id=workspace_id, pk=pk)
        .select_related("ab_test")
        .annotate(
            template_name=Coalesce(
                Subquery(template_name_of(workspace_id, OuterRef("template_id"))), Value("")
            )
        )
        .order_by()[:1]
    ),
    workspace_id=-7_000_000_001,
    pk=-7_000_000_002,
)


def campaign_resends(workspace: Workspace, campaign: Campaign) -> QuerySet[Campaign]:
    """The resends made from `campaign`, newest first."""
    return Campaign.objects.filter(workspace=workspace, resent_from_id=campaign.pk).order_by(
        "-created_at", "-id"
    )


def campaign_resent_from(workspace: Workspace, campaign: Campaign) -> Campaign | None:
    """The campaign `campaign` is a resend of, if it still exists."""
    if campaign.resent_from_id is None:
        return None
    return campaign_get(workspace, campaign.resent_from_id)


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
        # COUNT(*), not COUNT(id): the id is not in the index, so counting it read every row
        # of the table (a million-delivery campaign's page: 750 ms); the index alone, 75 ms.
        .annotate(n=Count("*"))
    )
    for campaign_id, status, n in rows:
        counts.setdefault(campaign_id, {})[status] = n
    return counts


def status_counts(campaign_id: int) -> dict[str, int]:
    """Deliveries per status of one campaign (empty when it has none)."""
    return status_counts_many([campaign_id]).get(campaign_id, {})


# A frozen campaign (Campaign.final_counts: finished, nothing in flight) changes its
# deliveries' statuses only when tracking marks one bounced or complained, which forgets
# these counts (`forget_status_counts`). Its page reads them from here instead of counting
# its deliveries on every view: 55 ms of PostgreSQL at a million, and under load the
# campaign page was the slowest. The TTL bounds another process's local cache.
COUNTS_FLIGHT = SingleFlight("campaign-counts", ttl=60, computing=60)


def campaign_status_counts(campaign: Campaign) -> dict[str, int]:
    """Deliveries per status of one campaign: kept for a frozen campaign, else counted."""
    if campaign.final_counts is None:
        return status_counts(campaign.pk)
    return COUNTS_FLIGHT.get(campaign.pk, lambda: status_counts(campaign.pk), dict)


def forget_status_counts(campaign_ids: Iterable[int]) -> None:
    """Deliveries of these campaigns changed status after their end: count them again."""
    for campaign_id in campaign_ids:
        COUNTS_FLIGHT.invalidate(campaign_id)


FINISHED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)


def list_counts(campaigns: Iterable[Campaign]) -> dict[int, dict[str, int]]:
    """Deliveries per status for the campaign list: a finished campaign's frozen counts, one
    GROUP BY over the deliveries of the others (and of finished ones not frozen yet).

    Only the figures that cannot change once frozen may be shown from these counts (see
    Campaign.final_counts): `progress_of_counts(...)`'s total, sent, cancelled and waiting.
    """
    counts: dict[int, dict[str, int]] = {}
    unfrozen = []
    for campaign in campaigns:
        if campaign.final_counts is not None:
            counts[campaign.pk] = {k: int(v) for k, v in campaign.final_counts.items()}
        else:
            unfrozen.append(campaign)
    counts.update(current_counts(unfrozen))
    return counts


# A running campaign's counts for its page, the lists and the API (see LIVE_RATE): each of
# them counted its deliveries again at every request.
LIVE_STATUS_COUNTS = SingleFlight("campaign-live-status-counts", ttl=2, computing=30)


def current_counts(campaigns: Iterable[Campaign]) -> dict[int, dict[str, int]]:
    """Deliveries per status, every status as it is now (the API's): a running campaign's
    counted at most two seconds ago (`live_status_counts`), a frozen one's kept until
    tracking changes one (`COUNTS_FLIGHT`, as its page), the others' in one GROUP BY."""
    counts: dict[int, dict[str, int]] = {}
    frozen = []
    others = []
    for campaign in campaigns:
        if campaign.status == CampaignStatus.RUNNING:
            counts[campaign.pk] = live_status_counts(campaign.pk)
        elif campaign.final_counts is not None:
            frozen.append(campaign.pk)
        else:
            others.append(campaign.pk)
    if frozen:
        counts.update(COUNTS_FLIGHT.get_many(frozen, _counted_each, dict))
    counts.update(status_counts_many(others) if others else {})
    return counts


def _counted_each(campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    """Deliveries per status of each campaign, one with none included."""
    counts = status_counts_many(campaign_ids)
    return {campaign_id: counts.get(campaign_id, {}) for campaign_id in campaign_ids}


def live_status_counts(campaign_id: int) -> dict[str, int]:
    """Deliveries per status of a running campaign, counted at most two seconds ago."""
    return LIVE_STATUS_COUNTS.get(campaign_id, lambda: status_counts(campaign_id), dict)


def email_domain(column: str) -> Func:
    """The receiving domain of the address in `column`, in lower case (as reports group)."""
    return Lower(Substr(column, StrIndex(column, Value("@")) + 1))


@dataclass(frozen=True)
class KeptSent:
    """A frozen campaign's sent messages: in all, per receiving domain, per account id."""

    total: int
    by_domain: dict[str, int]
    by_account: dict[int | None, int]


def kept_sent(campaign: Campaign) -> KeptSent | None:
    """The sent figures kept when `campaign`'s counts were frozen (a few SentTally rows);
    None while it is not frozen: its deliveries must be counted."""
    if campaign.final_counts is None:
        return None
    by_domain: dict[str, int] = {}
    by_account: dict[int | None, int] = {}
    rows = SentTally.objects.filter(campaign=campaign).values_list("domain", "account_id", "sent")
    for domain, account, n in rows:
        by_domain[domain] = by_domain.get(domain, 0) + n
        by_account[account] = by_account.get(account, 0) + n
    return KeptSent(sum(by_domain.values()), by_domain, by_account)


@dataclass(frozen=True)
class Hold:
    """Why a running campaign sends nothing now, and when it resumes (None: a person must
    act, e.g. fix an account in error)."""

    reason: str
    resumes_at: datetime | None
    zone: ZoneInfo

    @property
    def text(self) -> str:
        if self.resumes_at is None:
            return self.reason
        local = self.resumes_at.astimezone(self.zone)
        # Within a day the hour is enough (midnight tonight is "00:00"); later, the date too.
        soon = self.resumes_at - timezone.now() < timedelta(days=1)
        when = f"{local:%H:%M}" if soon else f"{local:%Y-%m-%d %H:%M}"
        return _("%(reason)s; resumes at %(when)s %(zone)s") % {
            "reason": self.reason,
            "when": when,
            "zone": self.zone.key,
        }


@dataclass(frozen=True)
class Progress:
    """Where a campaign stands: counts per delivery status, rate, estimated time to finish
    (limits included) and, while its accounts have no room, why it is held."""

    counts: dict[str, int]
    total: int
    rate_per_minute: float
    eta: timedelta | None
    hold: Hold | None = None
    finishes_at: datetime | None = None
    zone: ZoneInfo | None = None

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(s, 0) for s in OPEN)

    @property
    def sent(self) -> int:
        """Messages a server accepted (a later bounce or complaint does not unsend them)."""
        return sum(self.counts.get(s, 0) for s in ACCEPTED)

    @property
    def cancelled(self) -> int:
        return self.counts.get(DeliveryStatus.CANCELLED, 0)

    @property
    def not_sent(self) -> int:
        """Deliveries that ended without being sent, other than by a cancel: failed,
        suppressed, expired."""
        return self.total - self.waiting - self.sent - self.cancelled

    @property
    def done(self) -> int:
        """Deliveries the engine dealt with; cancelled ones were never tried, so they are not
        counted as done (a cancelled campaign is not "100 % done")."""
        return self.total - self.waiting - self.cancelled

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(self.done * 100 / self.total)

    @property
    def eta_text(self) -> str:
        if self.eta is None:
            return ""
        minutes = int(self.eta.total_seconds() // 60)
        if minutes < 1:
            return _("under a minute")
        hours, minutes = divmod(minutes, 60)
        days, hours = divmod(hours, 24)
        parts = {"days": days, "hours": hours, "minutes": minutes}
        if days:
            return _("about %(days)s d %(hours)s h") % parts
        if hours:
            return _("about %(hours)s h %(minutes)s min") % parts
        return _("about %(minutes)s min") % parts

    @property
    def finishes_text(self) -> str:
        """When the last message should go, in the workspace's time zone."""
        if self.finishes_at is None or self.zone is None:
            return ""
        return f"{self.finishes_at.astimezone(self.zone):%Y-%m-%d %H:%M} {self.zone.key}"

    @property
    def rows(self) -> list[tuple[str, str, int]]:
        """(status, label, count) for every status that has deliveries, in the model's order."""
        return [
            (value, label, self.counts[value])
            for value, label in DeliveryStatus.choices
            if self.counts.get(value)
        ]


# A running campaign's counts and rate change with every batch, and its page and the progress
# poll of every page open on it each counted them: under bench_load's 200 users, 800 counts in
# two minutes (a GROUP BY of 100,000 deliveries and a count of the last minutes' attempts,
# 45 ms under load). Its counts are the lists' (`live_status_counts`), and its rate is kept as
# long, one request at a time counting (core.single_flight). Only a running campaign's are
# kept: once it is paused, cancelled or done it is counted at every view again, so a change of
# status shows at once. (Nothing is forgotten from the engine's side: its workers need no
# cache.) The hold and the ETA, which follow the accounts' limits, are worked out at every view.
LIVE_RATE = SingleFlight("campaign-live-rate", ttl=2, computing=30)


def campaign_progress(campaign: Campaign, now: datetime | None = None) -> Progress:
    """Counts (one GROUP BY), rate, hold and ETA; a running campaign's counts and rate as
    counted at most two seconds ago (unless `now` is given).

    While running, the rate is what was sent in the last minutes (index campaign, time); once
    finished it is the average over the whole run. The ETA follows the accounts' limits: what
    they may still send today, then their daily limits day after day (see `finish_time`).
    """
    live = now is None and campaign.status == CampaignStatus.RUNNING
    now = now or timezone.now()
    if live:
        counts = live_status_counts(campaign.pk)
        rate = LIVE_RATE.get(campaign.pk, lambda: _rate(campaign, counts, now), float)
    else:
        counts = campaign_status_counts(campaign)
        rate = _rate(campaign, counts, now)
    total = sum(counts.values())
    progress = Progress(counts=counts, total=total, rate_per_minute=rate, eta=None)
    if campaign.status != CampaignStatus.RUNNING or not progress.waiting:
        return progress
    workspace = campaign.workspace
    accounts = list(campaign.accounts.all())
    hold = campaign_hold(workspace, accounts, now)
    finishes = finish_time(workspace, accounts, progress.waiting, rate, now)
    return Progress(
        counts,
        total,
        rate,
        eta=finishes - now if finishes is not None else None,
        hold=hold,
        finishes_at=finishes,
        zone=workspace.zone,
    )


def _rate(campaign: Campaign, counts: dict[str, int], now: datetime) -> float:
    """Messages sent a minute (see `campaign_progress`)."""
    if campaign.status == CampaignStatus.RUNNING:
        recent = Attempt.objects.filter(
            campaign=campaign, created_at__gte=now - RATE_WINDOW, outcome=AttemptOutcome.SENT
        ).count()
        return recent / (RATE_WINDOW.total_seconds() / 60)
    if campaign.launched_at and campaign.finished_at:
        seconds = max((campaign.finished_at - campaign.launched_at).total_seconds(), 1.0)
        return counts.get(DeliveryStatus.SENT, 0) * 60 / seconds
    return 0.0


# A wait shorter than this (a minimum wait between messages) is sending, not a hold.
HOLD_MIN = timedelta(minutes=1)


def campaign_hold(
    workspace: Workspace, accounts: list[SendingAccount], now: datetime
) -> Hold | None:
    """Why none of the campaign's accounts can send now and when the first one can again;
    None while one of them has room (or will within a minute)."""
    states = [quota.room_state(a, workspace, now) for a in accounts]
    if any(s is None or (s.until is not None and s.until - now < HOLD_MIN) for s in states):
        return None
    zone = workspace.zone
    if not states:
        return Hold(_("the campaign has no sending account"), None, zone)
    timed = [s.until for s in states if s is not None and s.until is not None]
    reasons = {s.reason for s in states if s is not None}
    if reasons == {quota.DAILY_LIMIT_REACHED}:
        reason = (
            _("daily limit of all accounts reached")
            if len(accounts) > 1
            else _("daily limit of the account reached")
        )
    elif reasons == {quota.HOURLY_LIMIT_REACHED}:
        reason = _("the workspace's hourly limit reached")
    elif not timed:
        reason = _("no sending account of the campaign can send (%(why)s)") % {
            "why": "; ".join(_why_not(a, s) for a, s in zip(accounts, states, strict=True) if s)
        }
    else:
        reason = "; ".join(sorted(reasons))
    return Hold(reason, min(timed, default=None), zone)


def _why_not(account: SendingAccount, state: quota.NoRoom) -> str:
    if account.status == AccountStatus.ERROR:
        return _("%(name)s is in error") % {"name": account.name}
    if account.status != AccountStatus.ACTIVE:
        return _("%(name)s is %(status)s") % {
            "name": account.name,
            "status": account.get_status_display().lower(),
        }
    return state.reason


def finish_time(
    workspace: Workspace, accounts: list[SendingAccount], waiting: int, rate: float, now: datetime
) -> datetime | None:
    """When `waiting` messages should be sent through `accounts`, within their limits.

    Today they take what the accounts may still send today; each following day (from the
    workspace's midnight) their day limits together (warm-ups' values, rising day by day;
    bounded by 24 hourly limits). Within a day messages go at the measured rate (per minute)
    or, before there is one, at what the minimum waits allow. None when the accounts can send
    nothing at all.
    """
    active = [a for a in accounts if a.status == AccountStatus.ACTIVE]
    today = quota.room_today(active, workspace, now)
    speed = rate if rate > 0 else _speed_by_limits(active, workspace)
    if waiting <= today:
        return now + _duration(waiting, speed)
    zone = workspace.zone
    local = now.astimezone(zone).date()
    later = _days_after(active, workspace, local, waiting - today)
    if later is None:
        return None
    days, last_day = later
    start = _local_midnight(local + timedelta(days=days), zone)
    return start + _duration(last_day, speed)


# Days of warm-up walked one by one at most; after them (or once no ramp rises) the days are
# all alike and counted at once.
RAMP_DAYS_WALKED = 400


def _days_after(
    accounts: list[SendingAccount], workspace: Workspace, today: date, messages: int
) -> tuple[int, int] | None:
    """Days after `today` that `messages` take, and what the last of them sends; None:
    never (no room on any day)."""
    day = 1
    while day < RAMP_DAYS_WALKED and _ramping(accounts, today + timedelta(days=day)):
        room = quota.day_room(accounts, workspace, today + timedelta(days=day))
        if messages <= room:
            return day, messages
        messages -= room
        day += 1
    per_day = quota.day_room(accounts, workspace, today + timedelta(days=day))
    if per_day <= 0:
        return None
    extra = math.ceil(messages / per_day)
    return day + extra - 1, messages - (extra - 1) * per_day


def _ramping(accounts: list[SendingAccount], day: date) -> bool:
    after = day + timedelta(days=1)
    return any(warmup.day_limit(a, day) < warmup.day_limit(a, after) for a in accounts)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def _speed_by_limits(accounts: list[SendingAccount], workspace: Workspace) -> float | None:
    """Messages per minute the minimum waits and the hourly limit allow; None: no bound."""
    if not accounts or any(a.min_interval_seconds == 0 for a in accounts):
        speed = None
    else:
        speed = sum(60 / a.min_interval_seconds for a in accounts)
    if workspace.hourly_limit is not None:
        hourly = workspace.hourly_limit / 60
        speed = hourly if speed is None else min(speed, hourly)
    return speed


def _duration(messages: int, per_minute: float | None) -> timedelta:
    if not per_minute:
        return timedelta(0)
    return timedelta(minutes=messages / per_minute)


@dataclass(frozen=True)
class Capacity:
    """What chosen accounts may send: the rest of today, and each full day."""

    today: int
    per_day: int

    def days_for(self, audience: int) -> int | None:
        """Days (today counted) that `audience` messages take; None: never."""
        if audience <= self.today:
            return 1
        if self.per_day <= 0:
            return None
        return 1 + math.ceil((audience - self.today) / self.per_day)


def accounts_capacity(
    workspace: Workspace, account_ids: list[int], now: datetime | None = None
) -> Capacity:
    """What the workspace's active accounts among `account_ids` may send today and per day."""
    now = now or timezone.now()
    accounts = list(
        SendingAccount.objects.filter(
            workspace=workspace, pk__in=account_ids, status=AccountStatus.ACTIVE
        ).defer(*ENCRYPTED_COLUMNS)
    )
    # Tomorrow's limits: a warm-up rises after it, so the days this counts are at most those.
    tomorrow = quota.local_day(workspace, now) + timedelta(days=1)
    return Capacity(
        today=quota.room_today(accounts, workspace, now),
        per_day=quota.day_room(accounts, workspace, tomorrow),
    )


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


def message_as_sent(delivery: Delivery, token: str) -> tuple[TemplateParts, dict[str, str]]:
    """What a delivery's message was made of, without its files (the view-in-browser page):
    the campaign's content frozen at the start and the delivery's placeholder values.

    Raises ContentError when the frozen content cannot be read.
    """
    parts = frozen_parts(delivery.campaign, with_attachments=False, variant_id=delivery.variant_id)
    variant = delivery.variant
    if (
        variant is not None
        and AbTest.objects.filter(
            campaign_id=delivery.campaign_id, kind=AbTestKind.SUBJECT
        ).exists()
    ):
        parts = replace(parts, subject=variant.value)
    return parts, delivery_values(delivery, token)


def campaigns_page(workspace: Workspace, cursor: str = "") -> KeysetPage[Campaign]:
    """One page of the campaign list (single e-mails have their own queue page)."""
    page: KeysetPage[Campaign] = keyset_page(
        campaigns_of(workspace), key="created_at", cursor=cursor, size=PAGE_SIZE
    )
    return page


@dataclass(frozen=True)
class CampaignHoldings:
    """What deleting or cancelling a campaign would lose: its report and its waiting mail."""

    deliveries: int
    attempts: int
    sent: int
    waiting: int


def campaign_holdings(campaign: Campaign) -> CampaignHoldings:
    """Counts for the confirmation pages: one GROUP BY on deliveries, one count of attempts."""
    progress = progress_of_counts(status_counts(campaign.pk))
    return CampaignHoldings(
        deliveries=progress.total,
        attempts=Attempt.objects.filter(campaign=campaign).count(),
        sent=progress.sent,
        waiting=progress.waiting,
    )


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


def deliveries_page(
    campaign: Campaign,
    flt: DeliveryFilter,
    cursor: str = "",
    size: int = PAGE_SIZE,
    known: Iterable[SendingAccount] = (),
) -> KeysetPage[Delivery]:
    """One page of a campaign's deliveries, in the order they were queued.

    Their accounts (a campaign has a few) are read once each, not joined to every row: the
    join made an account model, with every column, per row. Accounts the caller has read
    already (`known`: the page shows the campaign's) are not read again; only a delivery sent
    through an account since taken off the campaign needs its own.
    """
    qs = deliveries_matching(campaign, flt).select_related(None)
    page: KeysetPage[Delivery] = keyset_page(
        qs, key="pk", cursor=cursor, size=size, descending=False
    )
    by_pk = {account.pk: account for account in known}
    cache = Delivery._meta.get_field("account")
    for delivery in page.rows:
        if delivery.account_id in by_pk:
            cache.set_cached_value(delivery, by_pk[delivery.account_id])
    names = SendingAccount.objects.only("pk", "workspace_id", "name")
    prefetch_related_objects(page.rows, Prefetch("account", queryset=names))
    return page


def singles_page(workspace: Workspace, cursor: str = "") -> KeysetPage[Delivery]:
    """The deliveries of single e-mails (djangoMailer's "Emails queue"), newest first."""
    qs = Delivery.objects.filter(workspace=workspace, campaign__is_single=True).select_related(
        "campaign", "account"
    )
    page: KeysetPage[Delivery] = keyset_page(qs, key="pk", cursor=cursor, size=PAGE_SIZE)
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

    @property
    def address(self) -> str | None:
        """`email` when it is a whole address (in its stored form), looked up as that address
        alone; None for a part of one, matched anywhere in the addresses."""
        return whole_address(self.email)


def deliveries_of_address(workspace: Workspace, address: str) -> list[int]:
    """The ids of the workspace's deliveries to `address` (stored form), each read by index:
    those of the address's recipient, those sent to the address whoever's they are now (a
    recipient who has changed address since), and those a deleted recipient of the address
    left (their recipient is null). Not found: a delivery never sent whose recipient has
    changed its address since."""
    people = Recipient.objects.filter(workspace=workspace, email=address).values("pk")
    mine = Delivery.objects.filter(workspace=workspace)
    ids = set(mine.filter(recipient_id__in=people).values_list("pk", flat=True))
    for rows in (mine.filter(sent_at__isnull=False), mine.filter(recipient__isnull=True)):
        named = rows.annotate(address=Lower("email")).filter(address=address)
        ids |= set(named.values_list("pk", flat=True))
    return sorted(ids)


def person_messages(*, workspace: Workspace, email: str) -> dict[str, Any]:
    """The messages sent or tried to an address, each with its attempts, for the privacy
    export (settings.RECIPIENT_DATA_PROVIDERS)."""
    ids = deliveries_of_address(workspace, email.strip().lower())
    attempts: dict[int, list[dict[str, Any]]] = {}
    for attempt in Attempt.objects.filter(workspace=workspace, delivery_id__in=ids).order_by(
        "created_at", "id"
    ):
        attempts.setdefault(attempt.delivery_id, []).append(
            {
                "at": attempt.created_at.isoformat(),
                "address": attempt.email,
                "outcome": attempt.outcome,
                "smtp_code": attempt.smtp_code,
                "reply": attempt.reply,
            }
        )
    deliveries = Delivery.objects.filter(pk__in=ids).select_related("campaign").order_by("pk")
    return {
        "messages": [
            {
                "campaign": delivery.campaign.name,
                "address": delivery.email,
                "status": delivery.status,
                "sent_at": delivery.sent_at.isoformat() if delivery.sent_at else None,
                "attempts": attempts.get(delivery.pk, []),
            }
            for delivery in deliveries
        ]
    }


# A part of an address ("smith", "@acme.") is looked up by its deliveries, as a whole address
# is, when few recipients' addresses (and the deliveries deleted recipients left, read whole)
# contain it; a commoner part is found soon enough reading the log newest first.
PART_PEOPLE_MAX = 200
PART_LEFT_MAX = 100_000


def deliveries_of_part(workspace: Workspace, part: str) -> list[int] | None:
    """The ids of the workspace's deliveries whose address contains `part`, any case; None
    when the part is too short for the recipients' search index (under three characters),
    or in more than PART_PEOPLE_MAX recipients' addresses, or when deleted recipients left
    more than PART_LEFT_MAX deliveries to read. Not found, as by the whole address: a
    delivery whose recipient has changed its address since."""
    text = part.strip()
    if len(text) < 3:
        return None
    people = list(
        Recipient.objects.filter(search_q(text), workspace=workspace, email__icontains=text)
        .order_by()
        .values_list("pk", flat=True)[: PART_PEOPLE_MAX + 1]
    )
    mine = Delivery.objects.filter(workspace=workspace)
    left = mine.filter(recipient__isnull=True)
    if len(people) > PART_PEOPLE_MAX or left[: PART_LEFT_MAX + 1].count() > PART_LEFT_MAX:
        return None
    ids = set(mine.filter(recipient_id__in=people).values_list("pk", flat=True))
    ids |= set(left.filter(email__icontains=text).values_list("pk", flat=True))
    return sorted(ids)


def attempts_matching(workspace: Workspace, flt: AttemptFilter) -> QuerySet[Attempt]:
    """The workspace's attempts that pass the filter (see _matching)."""
    return _matching(workspace, flt)[0].select_related("account", "campaign")


def _matching(workspace: Workspace, flt: AttemptFilter) -> tuple[QuerySet[Attempt], bool]:
    """The attempts that pass the filter, and whether they are few and found by their
    deliveries' ids (one delivery's, an address's, a rare part's), not in the order of the
    index (workspace or campaign, created_at)."""
    qs = Attempt.objects.filter(workspace=workspace)
    by_deliveries = flt.delivery_id is not None
    if flt.campaign_id is not None:
        qs = qs.filter(campaign_id=flt.campaign_id)
    if flt.delivery_id is not None:
        qs = qs.filter(delivery_id=flt.delivery_id)
    address = flt.address
    if address is not None:
        # The attempt keeps the address its delivery was sent to: that one, no other.
        ids: list[int] | None = deliveries_of_address(workspace, address)
        qs = qs.filter(email__iexact=address)
    elif flt.email:
        ids = deliveries_of_part(workspace, flt.email)
        qs = qs.filter(email__icontains=flt.email)
    else:
        ids = None
    if ids is not None:
        qs = qs.filter(delivery_id__in=ids)
        by_deliveries = True
    if flt.outcome:
        qs = qs.filter(outcome=flt.outcome)
    if flt.account_id is not None:
        qs = qs.filter(account_id=flt.account_id)
    if flt.since is not None:
        qs = qs.filter(created_at__gte=flt.since)
    if flt.until is not None:
        qs = qs.filter(created_at__lt=flt.until)
    return qs, by_deliveries


def attempts_page(
    workspace: Workspace, flt: AttemptFilter, cursor: str = "", size: int = PAGE_SIZE
) -> KeysetPage[Attempt]:
    """One page of the log, newest first.

    The attempts alone are read in the order of their (workspace or campaign, time, id) index,
    then their campaigns and accounts by id: a join would let the planner start from the
    campaigns and read all their attempts when it believes the month's partition nearly
    empty. One delivery's attempts, one address's or a rare part's, are few, and better found
    by the deliveries' index, then sorted.
    """
    qs, by_deliveries = _matching(workspace, flt)
    with nullcontext() if by_deliveries else in_index_order():
        page: KeysetPage[Attempt] = keyset_page(qs, key="created_at", cursor=cursor, size=size)
    # Their names only: a whole account is every column, its secrets decrypted.
    accounts = SendingAccount.objects.only("pk", "workspace_id", "name")
    campaigns = Campaign.objects.only("pk", "workspace_id", "name")
    prefetch_related_objects(
        page.rows, Prefetch("account", queryset=accounts), Prefetch("campaign", queryset=campaigns)
    )
    return page


def fixed_audience_count(campaign: Campaign) -> int:
    """How many recipients a resend's fixed audience holds."""
    return ResendRecipient.objects.filter(campaign=campaign).count()
