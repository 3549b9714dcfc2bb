"""Real Chromium: drag a scheduled campaign to another day of the calendar; its new time is
kept, and the calendar shows it there without a reload."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from campaigns.calendar_days import week_days
from campaigns.models import CampaignStatus
from campaigns.tests.test_browser_campaigns import sign_in
from campaigns.tests.test_views_calendar import schedule

pytestmark = pytest.mark.django_db(transaction=True)

SUNDAY = 0  # English weeks start on Sunday


def test_dragging_a_scheduled_campaign_to_another_day_moves_it(page: Page):
    editor = MembershipFactory.create(role=Role.EDITOR, user__email="planner@example.test")
    workspace = editor.workspace
    workspace.time_zone = "Europe/Moscow"
    workspace.save(update_fields=["time_zone"])
    zone = workspace.zone
    # Two days ahead at 10:00 in Moscow; the target is a day of the same week that is still
    # in the future (the next day, or the day before when the week ends there).
    day = timezone.now().astimezone(zone).date() + timedelta(days=2)
    week = week_days(day, SUNDAY)
    target = day + timedelta(days=1) if day != week[-1] else day - timedelta(days=1)
    campaign = schedule(workspace, datetime.combine(day, time(10, 0), tzinfo=zone), "Dragged")

    sign_in(page, "planner@example.test")
    page.goto(f"/campaigns/calendar/?view=week&day={day.isoformat()}")
    block = page.locator(f'[data-campaign="{campaign.pk}"]')
    expect(page.locator(f'td[data-day="{day.isoformat()}"]')).to_contain_text("Dragged")
    block.drag_to(page.locator(f'td[data-day="{target.isoformat()}"]'))

    expect(page.locator("#calendar-status")).to_have_text(
        "Campaign moved: it starts at its new time."
    )
    moved = page.locator(f'td[data-day="{target.isoformat()}"] [data-campaign="{campaign.pk}"]')
    expect(moved).to_contain_text("10:00 Dragged")
    expect(page.locator(f'td[data-day="{day.isoformat()}"]')).not_to_contain_text("Dragged")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.scheduled_at == datetime.combine(target, time(10, 0), tzinfo=zone)
