"""Real Chromium: an owner adds and tests an account; a captured message shows sandboxed."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from accounts.tests.factories import PASSWORD, MembershipFactory, WorkspaceFactory
from sending.models import SendingAccount
from sending.services import workspace_initialize
from sending.tests.factories import rendered
from sending.transports.base import OutgoingMessage
from sending.transports.factory import transport_for

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_an_owner_adds_an_smtp_account_and_tests_it(page: Page, smtp_sink, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    settings.SENDING_HELO_NAME = "client.postroom.test"
    workspace = WorkspaceFactory.create(name="Acme")
    MembershipFactory.create(workspace=workspace, role=Role.OWNER, user__email="o@acme.test")
    sign_in(page, "o@acme.test")
    page.goto("/sending-accounts/")
    page.get_by_role("link", name="Add account").first.click()

    expect(page.get_by_label("API key or token")).to_be_hidden()  # only the chosen kind shows
    page.get_by_label("Name:", exact=True).fill("Main")
    page.get_by_label("Sender e-mail").fill("news@acme.example")
    page.get_by_label("SMTP host").fill(smtp_sink.host)
    page.get_by_label("SMTP port").fill(str(smtp_sink.port))
    page.get_by_label("Security").select_option("none")
    page.get_by_label("SMTP password").fill("a-secret-password")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Main")).to_be_visible()
    expect(page.get_by_text("•••• (saved)")).to_be_visible()
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.get_by_text("SMTP connection successful for news@acme.example")).to_be_visible()
    assert SendingAccount.objects.get(name="Main").status == "active"
    assert "a-secret-password" not in page.content()


def test_a_captured_message_renders_in_a_sandboxed_frame(page: Page):
    workspace = WorkspaceFactory.create(name="Acme")
    MembershipFactory.create(workspace=workspace, role=Role.VIEWER, user__email="v@acme.test")
    workspace_initialize(workspace=workspace)
    capture = SendingAccount.objects.get(workspace=workspace)
    with transport_for(capture) as transport:
        transport.send(OutgoingMessage.from_rendered(rendered(subject="Spring sale")))
    sign_in(page, "v@acme.test")
    page.goto("/sending-accounts/captured/")
    page.get_by_role("link", name="Spring sale").click()
    frame = page.frame_locator("iframe[title='The message as HTML']")
    expect(frame.get_by_text("there")).to_be_visible()
    expect(page.get_by_text("List-Unsubscribe-Post", exact=True)).to_be_visible()
