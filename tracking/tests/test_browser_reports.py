"""Real Chromium: the campaign report draws its chart, the dashboard loads its rates card,
and a recipient's activity reads newest first; no errors in the console."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from audience.models import Recipient
from campaigns.models import Attempt
from campaigns.tests.test_browser_campaigns import sign_in
from tracking.models import BounceType, EventKind, EventSource
from tracking.tests.reporting import happened, sent_world

pytestmark = pytest.mark.django_db(transaction=True)
K = EventKind


def _world():
    member = MembershipFactory.create(role=Role.VIEWER, user__email="reader@example.test")
    w = sent_world(member.workspace, ["ann@gmail.com", "bob@mail.ru", "cid@outlook.com"])
    d, t = w.deliveries, w.start
    for delivery in d.values():
        Attempt.objects.create(
            workspace=member.workspace,
            campaign=w.campaign,
            delivery=delivery,
            email=delivery.email,
            outcome="sent",
            smtp_code=250,
            reply="250 2.0.0 queued",
        )
    happened(d["ann@gmail.com"], K.OPENED, t + timedelta(hours=2))
    happened(
        d["ann@gmail.com"],
        K.CLICKED,
        t + timedelta(hours=3),
        link_index=0,
        url="https://acme.test/offer",
    )
    happened(d["bob@mail.ru"], K.OPENED, t + timedelta(seconds=2), machine=True)
    happened(
        d["cid@outlook.com"],
        K.BOUNCED,
        timezone.now(),
        bounce_type=BounceType.HARD,
        source=EventSource.MAILBOX,
    )
    return w


def _errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_the_campaign_report_draws_its_chart(page: Page):
    w = _world()
    errors = _errors(page)
    sign_in(page, "reader@example.test")

    page.goto(f"/campaigns/{w.campaign.pk}/")
    page.get_by_role("link", name="Opens, clicks, bounces").click()
    expect(page.locator("#report-hours")).to_have_attribute("data-chart-drawn", "true")
    expect(page.locator('[data-figure="opens"]')).to_contain_text("1")
    expect(page.locator('[data-figure="bounced"]')).to_contain_text("1 (1 / 0)")
    expect(page.locator("#report-links")).to_contain_text("https://acme.test/offer")
    expect(page.locator('#report-domains [data-group="mail.ru"]')).to_be_visible()
    assert not errors


def test_the_dashboard_shows_the_rates_with_a_warning(page: Page):
    _world()  # one bounce in three sent today: far over the limit
    errors = _errors(page)
    sign_in(page, "reader@example.test")

    page.goto("/")
    expect(page.locator("#deliverability-chart")).to_have_attribute("data-chart-drawn", "true")
    expect(page.locator('[data-warning="bounces"]')).to_be_visible()
    assert not errors


def test_the_recipient_timeline(page: Page):
    w = _world()
    errors = _errors(page)
    sign_in(page, "reader@example.test")
    ann = Recipient.objects.get(email="ann@gmail.com", workspace=w.campaign.workspace)

    page.goto(f"/recipients/{ann.pk}/")
    page.get_by_role("link", name="Activity").click()
    items = page.locator("#timeline li")
    expect(items).to_have_count(3)
    expect(items.nth(0)).to_have_attribute("data-kind", "attempt")  # sent today: newest
    expect(items.nth(1)).to_have_attribute("data-kind", "clicked")
    expect(items.nth(1)).to_contain_text("https://acme.test/offer")
    expect(items.nth(2)).to_have_attribute("data-kind", "opened")
    assert not errors
