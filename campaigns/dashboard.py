"""The dashboard's figures, computed with a few aggregate queries and cached per workspace.

Every figure is one aggregate over an indexed column and a bounded time range (attempts: the
index (workspace, created_at) over the last 30 local days), so the page costs the same with ten
million attempts as with ten. The result is cached for a minute per workspace, one request
at a time computing it again (core.single_flight): `invalidate(workspace_id)` makes a change
show on the next visit without waiting for the minute to run out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Case, CharField, Count, Exists, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts.models import Workspace
from audience.models import Recipient
from campaigns.models import (
    WAITING,
    Attempt,
    AttemptOutcome,
    Campaign,
    DayTally,
    Delivery,
    DeliveryStatus,
)
from campaigns.selectors import ACTIVE
from content.models import Template
from core import soft_cache
from core.single_flight import SingleFlight
from sending import warmup
from sending.models import SendingAccount
from sending.quota import local_day
from sending.selectors import ENCRYPTED_COLUMNS

FLIGHT = SingleFlight("dashboard", ttl=60, computing=30)
# Past days are counted once for good (DayTally), but not in the first minutes after midnight:
# the last batches of yesterday may still be being recorded.
HISTORY_SETTLE = timedelta(minutes=10)
# "Recipients reached" probes the deliveries once per recipient (a million: 1.1 s), so it is
# counted at most this often, not with every minute's figures.
REACHED_SECONDS = 600
DAYS = 30
# What a user asks of each attempt: "sent, retried or failed?". An attempt is "failed" only
# when its delivery ended failed with it (a refusal, or the last try); every other failed
# try (a 4xx, a dropped connection, a refused password) was followed by another try, so it
# counts as "retried", even when all of them were sent in the end.
GROUPS: tuple[str, ...] = ("sent", "retried", "failed", "suppressed")
# Their names as the dashboard shows them (`{% translate group|capfirst %}`), for the catalog.
GROUP_NAMES = (
    gettext_noop("Sent"),
    gettext_noop("Retried"),
    gettext_noop("Failed"),
    gettext_noop("Suppressed"),
)
# Deliveries that ended without being sent: what "failed" means on the dashboard.
ENDED_FAILED = (
    DeliveryStatus.FAILED,
    DeliveryStatus.NOT_FOUND,
    DeliveryStatus.CONNECTION_ERROR,
    DeliveryStatus.OTHER_ERROR,
    DeliveryStatus.EXPIRED,
)


@dataclass(frozen=True)
class AccountUse:
    name: str
    from_email: str
    status: str
    sent_today: int
    daily_limit: int

    @property
    def percent(self) -> int:
        if not self.daily_limit:
            return 0
        return min(100, int(self.sent_today * 100 / self.daily_limit))


@dataclass(frozen=True)
class Figures:
    recipients: int
    templates: int
    campaigns_total: int
    campaigns_active: int
    reached: int
    reached_at: datetime  # counted less often than the rest (REACHED_SECONDS)
    waiting: int
    today: dict[str, int]
    month: dict[str, int]
    days: list[str]
    series: dict[str, list[int]]
    accounts: list[AccountUse]
    computed_at: datetime

    @property
    def chart(self) -> dict[str, object]:
        """What static/js/charts.js draws: labels, one dataset per group, and the groups'
        names in the language of the page (the chart's legend)."""
        names = {group: gettext(group.capitalize()) for group in self.series}
        return {"labels": self.days, "series": self.series, "names": names}


def invalidate(workspace_id: int, *, history: bool = False) -> None:
    """Forget the workspace's figures: the next visit recomputes them. Cheap; call freely.

    The counts of past days are kept (new attempts only land on today), and the recipients
    reached are counted every REACHED_SECONDS; pass `history=True` after deleting attempts and
    deliveries, so that those are counted again too.
    """
    FLIGHT.invalidate(workspace_id)
    if history:
        DayTally.objects.filter(workspace_id=workspace_id).delete()
        soft_cache.delete(_reached_key(workspace_id))


def figures(workspace: Workspace, now: datetime | None = None) -> Figures:
    """The dashboard of `workspace`, from the cache when it is fresh (one cache round trip);
    one request at a time computes them again (core.single_flight)."""
    return FLIGHT.get(workspace.pk, lambda: compute(workspace, now or timezone.now()), Figures)


def compute(workspace: Workspace, now: datetime) -> Figures:
    """Every figure, uncached: about eight aggregate queries whatever the data size."""
    today = local_day(workspace, now)
    days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    per_day = _per_day(workspace, days, now)
    reached, reached_at = _reached(workspace, now)
    series = {g: [per_day.get((d, g), 0) for d in days] for g in GROUPS}
    campaigns = Campaign.objects.filter(workspace=workspace, is_single=False, sequence_step=False)
    return Figures(
        recipients=Recipient.objects.filter(workspace=workspace).count(),
        templates=Template.objects.filter(workspace=workspace).count(),
        campaigns_total=campaigns.count(),
        campaigns_active=campaigns.filter(status__in=ACTIVE).count(),
        reached=reached,
        reached_at=reached_at,
        # Queued or deferred now: read through the claim's partial index of waiting rows.
        waiting=Delivery.objects.filter(workspace=workspace, status__in=WAITING).count(),
        today={g: per_day.get((today, g), 0) for g in GROUPS},
        month={g: sum(series[g]) for g in GROUPS},
        days=[d.isoformat() for d in days],
        series=series,
        accounts=_accounts(workspace, today),
        computed_at=now,
    )


def _midnights(workspace: Workspace, days: list[date]) -> list[datetime]:
    """The instant each local day starts (daylight-saving changes included)."""
    zone = workspace.zone
    return [datetime.combine(d, time.min, tzinfo=zone) for d in days]


def _per_day(workspace: Workspace, days: list[date], now: datetime) -> dict[tuple[date, str], int]:
    """Attempts per (local day, group): past days kept (DayTally), today from the database.

    Past days no longer change, so once counted a recomputation reads only today's attempts,
    whatever the history holds.
    """
    today_starts = _midnights(workspace, days[-1:])[0]
    past, _counted = _past_days(
        workspace, days[:-1], end=today_starts, keep=now - today_starts > HISTORY_SETTLE
    )
    return {**past, **_attempts_per_day(workspace, days[-1:], end=None)}


def _past_days(
    workspace: Workspace, days: list[date], *, end: datetime, keep: bool
) -> tuple[dict[tuple[date, str], int], int]:
    """The counts of `days` (consecutive, all before `end`): those kept, and the others
    counted from the attempts (from the first missing day on) and, with `keep`, kept.
    Returns them and how many days were counted."""
    zone = workspace.time_zone
    kept = DayTally.objects.filter(workspace=workspace, zone=zone, day__in=days)
    counts = {(t.day, g): getattr(t, g) for t in kept for g in GROUPS}
    missing = [d for d in days if (d, GROUPS[0]) not in counts]
    if not missing:
        return counts, 0
    counted = _attempts_per_day(workspace, days[days.index(missing[0]) :], end=end)
    tallies = [
        DayTally(
            workspace=workspace, zone=zone, day=d, **{g: counted.get((d, g), 0) for g in GROUPS}
        )
        for d in missing
    ]
    counts |= {(t.day, g): getattr(t, g) for t in tallies for g in GROUPS}
    if keep:
        # Two processes may count the same day at once: the same figures, one row kept.
        DayTally.objects.bulk_create(tallies, ignore_conflicts=True)
    return counts, len(missing)


def keep_past_days(now: datetime) -> int:
    """Count the past days of every workspace not counted yet (the hourly housekeeping runs
    it), so that no dashboard visit pays for them; returns how many days were counted. A
    workspace whose day began less than HISTORY_SETTLE ago waits for the next hour.

    One statement per missing day: a first count of 29 days of a large workspace in one
    statement ran 16 s (20 million attempts), holding its snapshot all that time."""
    counted = 0
    for workspace in Workspace.objects.order_by("pk"):
        today = local_day(workspace, now)
        days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
        midnights = _midnights(workspace, days)
        if now - midnights[-1] <= HISTORY_SETTLE:
            continue
        kept = set(
            DayTally.objects.filter(
                workspace=workspace, zone=workspace.time_zone, day__gte=days[0]
            ).values_list("day", flat=True)
        )
        for day, end in zip(days[:-1], midnights[1:], strict=True):
            if day not in kept:
                counted += _past_days(workspace, [day], end=end, keep=True)[1]
    return counted


def _attempts_per_day(
    workspace: Workspace, days: list[date], end: datetime | None
) -> dict[tuple[date, str], int]:
    """Attempts per (local day, group) over `days`: one GROUP BY on (workspace, created_at).

    The day is a CASE over the local midnights computed here, not a time-zone conversion per
    row in the database: plain comparisons cost the same everywhere (SQLite would call a
    Python function for every row of TruncDate).
    """
    starts = _midnights(workspace, days)
    bucket = Case(
        *(
            When(created_at__gte=start, then=Value(i))
            for i, start in reversed(list(enumerate(starts)))
        ),
        default=Value(0),
        output_field=IntegerField(),
    )
    qs = Attempt.objects.filter(workspace=workspace, created_at__gte=starts[0])
    if end is not None:
        qs = qs.filter(created_at__lt=end)
    rows = (
        qs.order_by()
        .annotate(day=bucket, group=_group())
        .values_list("day", "group")
        .annotate(n=Count("pk"))
    )
    result: dict[tuple[date, str], int] = {}
    for index, group, n in rows:
        key = (days[index], group)
        result[key] = result.get(key, 0) + n
    return result


def _group() -> Case:
    """The attempt's group, in SQL. Only failed tries probe further: whether their delivery
    ended failed (its primary key) and no later try followed (the attempts' delivery index)."""
    ended_failed = Delivery.objects.filter(pk=OuterRef("delivery_id"), status__in=ENDED_FAILED)
    later = Attempt.objects.filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk")),
        delivery_id=OuterRef("delivery_id"),
    )
    return Case(
        When(outcome=AttemptOutcome.SENT, then=Value("sent")),
        When(outcome=AttemptOutcome.SUPPRESSED, then=Value("suppressed")),
        When(Exists(ended_failed) & ~Exists(later), then=Value("failed")),
        default=Value("retried"),
        output_field=CharField(),
    )


def _reached_key(workspace_id: int) -> str:
    return f"dashboard:reached:{workspace_id}"


def _reached(workspace: Workspace, now: datetime) -> tuple[int, datetime]:
    """Recipients with at least one message sent, and when they were counted (at most
    REACHED_SECONDS ago): one probe of the deliveries' recipient index per recipient, so it
    grows with the audience, not with the history of sends."""
    key = _reached_key(workspace.pk)
    kept = soft_cache.get(key)
    if isinstance(kept, tuple):
        return kept
    sent = Delivery.objects.filter(recipient_id=OuterRef("pk"), status=DeliveryStatus.SENT)
    counted = (Recipient.objects.filter(workspace=workspace).filter(Exists(sent)).count(), now)
    soft_cache.set(key, counted, REACHED_SECONDS)
    return counted


def _accounts(workspace: Workspace, today: date) -> list[AccountUse]:
    return [
        AccountUse(
            name=a.name,
            from_email=a.from_email,
            status=a.get_status_display(),
            sent_today=a.sent_on(today),
            daily_limit=warmup.day_limit(a, today),
        )
        for a in SendingAccount.objects.filter(workspace=workspace)
        .defer(*ENCRYPTED_COLUMNS)  # names and counts: nothing to decrypt
        .order_by("name", "pk")
    ]
