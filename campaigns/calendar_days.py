"""What the campaign calendar shows: the days of a month or week grid and the campaigns that
fall on each day, in the workspace's time zone.

A campaign's place is its start: when it was launched, or when it is scheduled to be. Its day
is that moment's date in the workspace's zone, so a campaign at 23:30 UTC is on the next day
in Moscow. Day bounds are local midnights turned into UTC, so a week across a DST change still
has seven whole days (one of 23 hours, one of 25).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import DateTimeField, QuerySet
from django.db.models.functions import Coalesce

from accounts.models import Workspace
from campaigns.models import Campaign, CampaignStatus

# Drafts have no time of their own yet; everything else has started or waits for its time.
SHOWN = (
    CampaignStatus.SCHEDULED,
    CampaignStatus.LAUNCHING,
    CampaignStatus.RUNNING,
    CampaignStatus.PAUSED,
    CampaignStatus.COMPLETED,
    CampaignStatus.CANCELLED,
)
FINISHED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)


def week_start(day: date, first_weekday: int) -> date:
    """The first day of `day`'s week; `first_weekday` counts as Django's FIRST_DAY_OF_WEEK
    does (0 Sunday, 1 Monday, ...)."""
    python_first = (first_weekday - 1) % 7  # date.weekday(): 0 is Monday
    return day - timedelta(days=(day.weekday() - python_first) % 7)


def week_days(day: date, first_weekday: int) -> list[date]:
    """The seven days of `day`'s week."""
    first = week_start(day, first_weekday)
    return [first + timedelta(days=i) for i in range(7)]


def month_weeks(year: int, month: int, first_weekday: int) -> list[list[date]]:
    """The month as whole weeks: the days of the previous month that lead into its first
    week and those of the next month that fill its last one."""
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    day = week_start(first, first_weekday)
    weeks = []
    while day < following:
        weeks.append([day + timedelta(days=i) for i in range(7)])
        day += timedelta(days=7)
    return weeks


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The moment `day` begins in `zone`, in UTC."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class CalendarEntry:
    campaign: Campaign
    starts_at: datetime  # in the workspace's zone

    @property
    def finished(self) -> bool:
        return self.campaign.status in FINISHED

    @property
    def movable(self) -> bool:
        """Only a scheduled campaign can be moved to another time."""
        return self.campaign.status == CampaignStatus.SCHEDULED


def calendar_campaigns(workspace: Workspace, first: date, last: date) -> QuerySet[Campaign]:
    """The workspace's campaigns that start from `first` to `last` (both included, local days),
    earliest first. Single e-mails are left out: they have their own queue."""
    zone = workspace.zone
    return (
        Campaign.objects.filter(
            workspace=workspace, status__in=SHOWN, is_single=False, sequence_step=False
        )
        .annotate(starts=Coalesce("launched_at", "scheduled_at", output_field=DateTimeField()))
        .filter(
            starts__gte=local_midnight(first, zone),
            starts__lt=local_midnight(last + timedelta(days=1), zone),
        )
        .order_by("starts", "pk")
    )


def campaigns_by_day(workspace: Workspace, days: list[date]) -> dict[date, list[CalendarEntry]]:
    """Every day of `days` (consecutive) with the campaigns that start on it."""
    zone = workspace.zone
    by_day: dict[date, list[CalendarEntry]] = {day: [] for day in days}
    for campaign in calendar_campaigns(workspace, days[0], days[-1]):
        local = campaign.starts.astimezone(zone)  # type: ignore[attr-defined]
        by_day.setdefault(local.date(), []).append(CalendarEntry(campaign, local))
    return by_day
