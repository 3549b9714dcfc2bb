"""Real Chromium: build an A/B test of two subjects in the campaign editor, start it, read its
page, choose the winner by hand through the confirmation, and every recipient gets one
message: the test share its variant, the rest the winner."""

from __future__ import annotations

from collections import Counter

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from campaigns.engine.step import Engine
from campaigns.models import Campaign
from campaigns.services import campaigns_launch_queued
from campaigns.tests.test_browser_campaigns import sign_in
from campaigns.tests.test_views_campaigns import make_world
from content.models import Template
from sending.models import CapturedMessage

pytestmark = pytest.mark.django_db(transaction=True)


def send_everything() -> None:
    engine = Engine(batch_size=10)
    for _ in range(10):
        if not engine.step():
            break


def test_build_an_ab_test_choose_by_hand_and_send_the_rest(page: Page):
    editor = MembershipFactory.create(role=Role.EDITOR, user__email="sender@example.test")
    world = make_world(editor.workspace, n=8)
    sign_in(page, "sender@example.test")

    page.goto("/campaigns/new/")
    page.get_by_label("Name").fill("Spring test")
    page.get_by_label("Template").select_option(label="Welcome")
    page.get_by_label("First", exact=True).check()
    page.get_by_label("Capture <news@example.com>").check()
    page.get_by_label("Test variants first (A/B test)").check()
    page.get_by_label("What varies").select_option(value="subject")
    page.get_by_label("Variants, one per line (2 to 5)").fill("Spring is here\nLast days of spring")
    page.get_by_label("Test share of the audience (%)").fill("50")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name="Spring test")).to_be_visible()

    page.get_by_role("button", name="Start now").click()
    expect(page.get_by_text("Campaign started.")).to_be_visible()
    campaigns_launch_queued(now=timezone.now())
    send_everything()
    reachable = len(world.people)
    test_share = CapturedMessage.objects.filter(workspace=editor.workspace).count()
    assert 0 < test_share < reachable  # the test share only, split between the variants

    page.reload()
    page.locator("#ab-test-link").click()
    rows = page.locator("#ab-variants tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Spring is here")
    expect(rows.nth(1)).to_contain_text("Last days of spring")

    page.get_by_role("button", name="Send B to the rest now").click()
    expect(page.get_by_role("heading", name="Send variant B to the rest now?")).to_be_visible()
    expect(page.get_by_text("cannot be taken back")).to_be_visible()
    assert Campaign.objects.get().ab_test.winner is None  # the question chose nothing
    page.get_by_role("button", name="Send B to the rest").click()
    expect(page.get_by_text("Winner chosen")).to_be_visible()

    send_everything()
    messages = CapturedMessage.objects.filter(workspace=editor.workspace)
    received = Counter(to for m in messages for to in m.recipients)
    assert len(received) == reachable
    assert set(received.values()) == {1}
    subjects = Counter(m.subject for m in messages)
    assert subjects["Last days of spring"] > subjects["Spring is here"] > 0


def test_build_a_whole_content_test_with_a_template_per_variant(page: Page):
    editor = MembershipFactory.create(role=Role.EDITOR, user__email="sender@example.test")
    world = make_world(editor.workspace, n=8)
    Template.objects.create(
        workspace=editor.workspace,
        name="Second look",
        subject="A second look, {first_name|friend}",
        html_body='<p>Look again</p><a href="{unsubscribe_url}">Unsubscribe</a>',
    )
    sign_in(page, "sender@example.test")

    page.goto("/campaigns/new/")
    page.get_by_label("Name").fill("Content test")
    page.get_by_label("Template").select_option(label="Welcome")
    page.get_by_label("First", exact=True).check()
    page.get_by_label("Capture <news@example.com>").check()
    page.get_by_label("Test variants first (A/B test)").check()
    page.get_by_label("What varies").select_option(value="content")
    page.get_by_label("Content of variant B").select_option(label="Second look")
    page.get_by_label("Test share of the audience (%)").fill("50")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name="Content test")).to_be_visible()

    page.get_by_role("button", name="Start now").click()
    expect(page.get_by_text("Campaign started.")).to_be_visible()
    campaigns_launch_queued(now=timezone.now())
    send_everything()
    subjects = Counter(
        m.subject.split(",")[0].split(" ")[0]
        for m in CapturedMessage.objects.filter(workspace=editor.workspace)
    )
    assert subjects["Hello"] == subjects["A"] > 0  # each variant's own subject, evenly
    assert sum(subjects.values()) < len(world.people)

    page.reload()
    page.locator("#ab-test-link").click()
    rows = page.locator("#ab-variants tbody tr")
    expect(rows.nth(0)).to_contain_text("Welcome")
    expect(rows.nth(1)).to_contain_text("Second look")
