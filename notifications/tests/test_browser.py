"""Real Chromium: a campaign paused by the engine shows up in the bell and the list, and the
reader marks it read."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from accounts.tests.factories import PASSWORD, MembershipFactory, WorkspaceFactory
from notifications.tests import helpers

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_paused_campaign_rings_the_bell_and_is_marked_read(page: Page, smtp_sink):
    workspace = WorkspaceFactory.create(name="Acme")
    MembershipFactory.create(workspace=workspace, role=Role.VIEWER, user__email="v@acme.test")
    helpers.paused_by_engine(workspace, smtp_sink, name="Spring <i>sale</i>")
    helpers.pass_once()

    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill("v@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    bell = page.locator("#bell")
    expect(bell.locator("[data-unread-count]")).to_have_text("unread: 1")
    bell.click()
    item = page.locator("#notifications li").first
    expect(item).to_contain_text("Campaign “Spring <i>sale</i>” was paused.")
    expect(item).to_contain_text("30 bounces")
    expect(item).to_have_attribute("data-unread", "yes")
    item.get_by_role("button", name="Mark read").click()
    expect(page.locator("#notifications li").first).to_have_attribute("data-unread", "no")
    expect(bell.locator("[data-unread-count]")).to_have_count(0)
