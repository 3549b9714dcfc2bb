"""Real Chromium: create a template, preview it, and send a test into the real SMTP server."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from accounts.tests.factories import PASSWORD, MembershipFactory
from audience.models import Recipient
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_preview_and_send_a_test(page: Page, smtp_sink, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    member = MembershipFactory.create(role=Role.EDITOR, user__email="writer@example.test")
    Recipient.objects.create(
        workspace=member.workspace, email="ann@example.org", first_name="Annabel", company="Acme"
    )
    account = SendingAccountFactory.create(
        workspace=member.workspace,
        name="Office SMTP",
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
    )
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill("writer@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.goto("/templates/")
    page.get_by_role("link", name="New template").click()
    page.get_by_label("Name").fill("Welcome")
    page.get_by_label("Subject").fill("Welcome, {first_name|friend}")
    page.get_by_label("HTML body").fill("<p>Hello {first_name} from {company}</p>")
    page.get_by_role("textbox", name="Text body").fill("Hello {first_name} from {company}")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Template “Welcome” created.")).to_be_visible()

    page.get_by_role("link", name="Preview").first.click()
    page.get_by_label("Show it as").select_option(label="ann@example.org")
    page.get_by_role("button", name="Show").click()
    expect(
        page.frame_locator("#preview-frame").get_by_text("Hello Annabel from Acme")
    ).to_be_visible()

    page.get_by_role("link", name="Back to the template").or_(
        page.get_by_role("link", name="Edit")
    ).first.click()
    page.get_by_role("link", name="Send a test…").click()
    page.get_by_label("Through").select_option(label=f"Office SMTP <{account.from_email}>")
    page.get_by_label("Send a test to").fill("ann@example.org, someone@example.test")
    page.get_by_role("button", name="Send the test").click()
    expect(page.locator("#test-send-results")).to_contain_text("ann@example.org")

    by_rcpt = {m.rcpt_tos[0]: m for m in smtp_sink.wait_for(2)}
    assert by_rcpt["ann@example.org"].subject == "Welcome, Annabel"
    assert "Hello Annabel from Acme" in by_rcpt["ann@example.org"].text
    assert by_rcpt["someone@example.test"].subject.startswith("Welcome, ")
