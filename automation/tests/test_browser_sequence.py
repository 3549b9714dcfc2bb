"""Real Chromium: build a two-step sequence from the pages (a list trigger, a step with
sending hours), activate it, and see people who join the list get the first step, with the
figures and each person's progress on the sequence page."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from audience.models import ListMembership, Recipient
from automation.models import Enrollment, Sequence, SequenceStep
from automation.sequences.schedule import sequences_advance
from automation.tests.test_browser_ab import send_everything
from campaigns.tests.test_browser_campaigns import sign_in
from campaigns.tests.test_views_campaigns import make_world
from content.models import Template
from sending.models import CapturedMessage

pytestmark = pytest.mark.django_db(transaction=True)


def test_build_a_sequence_activate_it_and_watch_people_go_through(page: Page):
    editor = MembershipFactory.create(role=Role.EDITOR, user__email="drip@example.test")
    world = make_world(editor.workspace, n=2)
    Template.objects.create(
        workspace=editor.workspace, name="Tips", subject="Tips", text_body="Tips {unsubscribe_url}"
    )
    sign_in(page, "drip@example.test")

    page.goto("/")
    page.get_by_role("link", name="Sequences").click()
    page.get_by_role("link", name="New sequence").first.click()
    page.get_by_label("Name").fill("Welcome drip")
    page.get_by_label("Who is enrolled").select_option(value="list_joined")
    page.get_by_label("List").select_option(label="Second")
    page.get_by_label("Capture <news@example.com>").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Welcome drip")).to_be_visible()

    page.get_by_role("link", name="Add a step").click()
    page.get_by_label("Template").select_option(label="Welcome")
    page.get_by_label("Wait").fill("0")
    page.get_by_label("Unit").select_option(value="minutes")
    page.get_by_role("button", name="Save step").click()
    page.get_by_role("link", name="Add a step").click()
    page.get_by_label("Template").select_option(label="Tips")
    page.get_by_label("Wait").fill("2")
    page.get_by_label("Unit").select_option(value="days")
    page.get_by_label("Send only from").fill("09:00")
    page.get_by_label("until").fill("17:00")
    page.get_by_role("button", name="Save step").click()
    steps = page.locator("#steps tbody tr")
    expect(steps).to_have_count(2)
    expect(steps.nth(1)).to_contain_text("2 days")
    expect(steps.nth(1)).to_contain_text("09:00–17:00")

    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("The sequence is active.")).to_be_visible()
    sequence = Sequence.objects.get()
    assert SequenceStep.objects.filter(sequence=sequence, campaign__isnull=False).count() == 2

    newcomer = Recipient.objects.create(workspace=editor.workspace, email="new@example.test")
    ListMembership.objects.create(recipient_list=world.lists[1], recipient=newcomer)
    sequences_advance(now=timezone.now())
    send_everything()
    sent = CapturedMessage.objects.filter(workspace=editor.workspace)
    assert [m.recipients for m in sent] == [["new@example.test"]]  # joined after: enrolled

    page.reload()
    expect(page.locator("#step-1")).to_contain_text("1")
    expect(page.locator("#enrollments")).to_contain_text("new@example.test")
    expect(page.locator("#enrollments")).to_contain_text("1 of 2 steps passed")
    assert Enrollment.objects.get().position == 1

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("The sequence is paused")).to_be_visible()
