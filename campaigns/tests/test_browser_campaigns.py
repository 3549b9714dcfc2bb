"""Real Chromium: create a campaign, start it, watch it finish live, read the report."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from accounts.tests.factories import PASSWORD, MembershipFactory
from campaigns.engine.step import Engine
from campaigns.models import Campaign, CampaignStatus
from campaigns.services import campaigns_launch_queued
from campaigns.tests.test_views_campaigns import make_world
from sending.models import CapturedMessage

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Dashboard", exact=True)).to_be_visible()


def test_create_start_watch_and_read_the_report(page: Page):
    editor = MembershipFactory.create(role=Role.EDITOR, user__email="sender@example.test")
    make_world(editor.workspace)
    sign_in(page, "sender@example.test")

    page.goto("/campaigns/")
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill("Autumn letter")
    page.get_by_label("Template").select_option(label="Welcome")
    page.get_by_label("First", exact=True).check()
    page.get_by_label("Second", exact=True).check()
    preview = page.locator("#audience-preview")
    expect(preview.locator('[data-count="reachable"]')).to_have_text("4")
    expect(preview.locator('[data-count="duplicates"]')).to_have_text("1")
    page.get_by_label("Capture <news@example.com>").check()
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_role("heading", name="Autumn letter")).to_be_visible()
    expect(page.locator('[data-count="reachable"]')).to_have_text("4")
    expect(page.locator('#audience [data-count="duplicates"]')).to_have_text("1")
    page.get_by_role("button", name="Start now").click()
    expect(page.get_by_text("Campaign started.")).to_be_visible()
    expect(page.locator('#campaign-progress [data-status="launching"]')).to_be_visible()
    expect(page.locator("[data-launching]")).to_be_visible()

    # The worker's launch, in the test's thread: the poll sees it and reloads the page once.
    campaigns_launch_queued(now=timezone.now())
    expect(page.locator('#campaign-progress [data-status="running"]')).to_be_visible(timeout=15_000)
    expect(page.locator('#progress-counts [data-count="queued"]')).to_have_text("4")

    # The worker's part, in the test's thread, while the page polls every few seconds.
    engine = Engine(batch_size=2)
    for _ in range(10):
        if not engine.step():
            break
    assert Campaign.objects.get().status == CampaignStatus.COMPLETED

    # The poll sees the end and reloads the page once: final figures and the report.
    expect(page.locator('#campaign-progress [data-status="completed"]')).to_be_visible(
        timeout=15_000
    )
    expect(page.locator('#progress-counts [data-count="sent"]')).to_have_text("4")
    rows = page.locator("#deliveries tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("Sent")
    assert CapturedMessage.objects.filter(workspace=editor.workspace).count() == 4

    page.get_by_label("Status").select_option(label="Sent")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(4)
    page.get_by_role("link", name="Every attempt").click()
    expect(page.locator("#attempts tbody tr")).to_have_count(4)


def test_the_form_warns_as_accounts_are_chosen_that_cannot_send_the_audience_today(page: Page):
    editor = MembershipFactory.create(role=Role.EDITOR, user__email="sender@example.test")
    world = make_world(editor.workspace)
    world.account.daily_limit = 3
    world.account.save(update_fields=["daily_limit"])
    sign_in(page, "sender@example.test")

    page.goto("/campaigns/new/")
    page.get_by_label("First", exact=True).check()
    page.get_by_label("Second", exact=True).check()
    preview = page.locator("#audience-preview")
    expect(preview.locator('[data-count="reachable"]')).to_have_text("4")
    expect(preview.locator("[data-capacity-warning]")).to_have_count(0)  # no account yet
    page.get_by_label("Capture <news@example.com>").check()
    warning = preview.locator("[data-capacity-warning]")
    expect(warning).to_contain_text("can send 3 more messages today")
    expect(warning).to_contain_text("takes 2 days")
    page.get_by_label("Capture <news@example.com>").uncheck()
    expect(warning).to_have_count(0)


def test_the_dashboard_draws_its_chart(page: Page):
    editor = MembershipFactory.create(role=Role.EDITOR, user__email="viewer@example.test")
    make_world(editor.workspace)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, "viewer@example.test")
    page.goto("/")
    expect(page.locator("#dashboard-chart")).to_have_attribute("data-chart-drawn", "true")
    expect(page.locator('[data-figure="recipients"]')).to_have_text("4")
    assert not errors
