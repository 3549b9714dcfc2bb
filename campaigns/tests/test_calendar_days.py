"""Which campaigns fall on which day of the calendar, in the workspace's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.tests.factories import WorkspaceFactory
from campaigns.calendar_days import (
    calendar_campaigns,
    campaigns_by_day,
    local_midnight,
    month_weeks,
    week_days,
)
from campaigns.models import Campaign, CampaignStatus
from campaigns.tests.factories import CampaignFactory

SUNDAY, MONDAY = 0, 1  # Django's FIRST_DAY_OF_WEEK: English and Russian


def _campaign(workspace, name, status=CampaignStatus.SCHEDULED, **fields) -> Campaign:
    return CampaignFactory.create(
        workspace=workspace, name=name, status=status, bare=True, **fields
    )


def test_the_week_starts_on_the_languages_first_day():
    wednesday = date(2026, 12, 2)
    assert week_days(wednesday, MONDAY)[0] == date(2026, 11, 30)
    assert week_days(wednesday, SUNDAY)[0] == date(2026, 11, 29)
    assert week_days(date(2026, 11, 29), MONDAY)[-1] == date(2026, 11, 29)  # a Sunday ends it


def test_a_month_grid_has_leading_and_trailing_days():
    weeks = month_weeks(2026, 12, MONDAY)
    assert weeks[0][0] == date(2026, 11, 30)  # December 1st is a Tuesday
    assert weeks[-1][-1] == date(2027, 1, 3)
    assert len(weeks) == 5
    assert all(len(week) == 7 for week in weeks)
    sunday_first = month_weeks(2026, 12, SUNDAY)
    assert sunday_first[0][0] == date(2026, 11, 29)
    assert sunday_first[-1][-1] == date(2027, 1, 2)


def test_a_month_that_starts_the_week_has_no_leading_days():
    # February 2027 begins on a Monday and has exactly four weeks.
    weeks = month_weeks(2027, 2, MONDAY)
    assert weeks[0][0] == date(2027, 2, 1)
    assert len(weeks) == 4
    assert weeks[-1][-1] == date(2027, 2, 28)


@pytest.mark.django_db
def test_a_campaign_at_2330_utc_is_on_the_next_day_in_moscow():
    moscow = WorkspaceFactory.create(time_zone="Europe/Moscow")
    _campaign(moscow, "Late", scheduled_at=datetime(2026, 12, 9, 23, 30, tzinfo=UTC))
    days = week_days(date(2026, 12, 9), MONDAY)
    by_day = campaigns_by_day(moscow, days)
    assert by_day[date(2026, 12, 9)] == []
    [entry] = by_day[date(2026, 12, 10)]
    assert entry.campaign.name == "Late"
    assert (entry.starts_at.hour, entry.starts_at.minute) == (2, 30)


@pytest.mark.django_db
def test_the_same_campaign_stays_on_its_day_in_utc():
    utc = WorkspaceFactory.create(time_zone="UTC")
    _campaign(utc, "Late", scheduled_at=datetime(2026, 12, 9, 23, 30, tzinfo=UTC))
    by_day = campaigns_by_day(utc, week_days(date(2026, 12, 9), MONDAY))
    assert [e.campaign.name for e in by_day[date(2026, 12, 9)]] == ["Late"]


@pytest.mark.django_db
def test_a_dst_week_in_berlin_keeps_its_days_whole():
    # Summer time ends on Sunday 2026-10-25 at 03:00 local (01:00 UTC): that day has 25 hours.
    berlin = WorkspaceFactory.create(time_zone="Europe/Berlin")
    days = week_days(date(2026, 10, 21), MONDAY)
    assert days[0] == date(2026, 10, 19)
    assert days[-1] == date(2026, 10, 25)
    # 23:30 local on the last Sunday (22:30 UTC, after the change): still inside the week.
    _campaign(berlin, "Sunday night", scheduled_at=datetime(2026, 10, 25, 22, 30, tzinfo=UTC))
    # Monday 00:30 local in summer time is 22:30 UTC on Sunday the 18th: inside, on the 19th.
    _campaign(berlin, "Monday early", scheduled_at=datetime(2026, 10, 18, 22, 30, tzinfo=UTC))
    # Monday 26th 00:30 local (23:30 UTC on the 25th): the next week.
    _campaign(berlin, "Next week", scheduled_at=datetime(2026, 10, 25, 23, 30, tzinfo=UTC))
    by_day = campaigns_by_day(berlin, days)
    assert [e.campaign.name for e in by_day[date(2026, 10, 25)]] == ["Sunday night"]
    assert [e.campaign.name for e in by_day[date(2026, 10, 19)]] == ["Monday early"]
    assert "Next week" not in {e.campaign.name for entries in by_day.values() for e in entries}
    assert local_midnight(date(2026, 10, 26), berlin.zone) - local_midnight(
        date(2026, 10, 25), berlin.zone
    ) == timedelta(hours=25)


@pytest.mark.django_db
def test_running_and_finished_campaigns_are_placed_by_their_launch_and_drafts_are_left_out():
    workspace = WorkspaceFactory.create(time_zone="UTC")
    december = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    _campaign(workspace, "Draft", status=CampaignStatus.DRAFT, scheduled_at=december)
    _campaign(
        workspace,
        "Done",
        status=CampaignStatus.COMPLETED,
        scheduled_at=december,
        launched_at=december + timedelta(days=1),
    )
    _campaign(workspace, "Running", status=CampaignStatus.RUNNING, launched_at=december)
    _campaign(workspace, "Single", scheduled_at=december, is_single=True)
    by_day = campaigns_by_day(workspace, week_days(december.date(), MONDAY))
    assert [e.campaign.name for e in by_day[date(2026, 12, 3)]] == ["Running"]
    [done] = by_day[date(2026, 12, 4)]
    assert done.campaign.name == "Done"
    assert done.finished
    assert not done.movable
    assert not by_day[date(2026, 12, 3)][0].finished


@pytest.mark.django_db
def test_another_workspaces_campaigns_are_never_on_the_calendar():
    home = WorkspaceFactory.create(time_zone="UTC")
    other = WorkspaceFactory.create(time_zone="UTC")
    _campaign(other, "Theirs", scheduled_at=datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    assert not calendar_campaigns(home, date(2026, 12, 1), date(2026, 12, 31)).exists()
    assert calendar_campaigns(other, date(2026, 12, 1), date(2026, 12, 31)).count() == 1
