"""Real Chromium with JavaScript off: sign up on the hosted page, get the confirmation e-mail
from the real SMTP server, follow its link and confirm."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.tests.factories import WorkspaceFactory
from audience.models import RecipientList
from core.testing.fixtures import close_context
from sending.tests.factories import SendingAccountFactory
from subscriptions.confirmations import run_confirmation_step
from subscriptions.models import PendingSignup
from subscriptions.tests.factories import SignupFormFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page_without_js(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(15_000)
    yield context.new_page()
    close_context(context)


def test_sign_up_and_confirm_without_javascript(page_without_js: Page, smtp_sink, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    page = page_without_js
    workspace = WorkspaceFactory.create(name="Acme", signup_color="#aa3300")
    newsletter = RecipientList.objects.create(workspace=workspace, name="Newsletter")
    account = SendingAccountFactory.create(
        workspace=workspace, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port
    )
    form = SignupFormFactory.create(
        workspace=workspace,
        title="Acme news",
        lists=[newsletter],
        fields=["first_name"],
        sending_account=account,
    )

    page.goto(f"/s/{form.public_key}/")
    expect(page.get_by_role("heading", name="Acme news")).to_be_visible()
    expect(page.get_by_label("Leave this empty")).not_to_be_in_viewport()  # the honeypot
    page.get_by_label("E-mail address").fill("ann@example.org")
    page.get_by_label("First name").fill("Ann")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert not newsletter.recipients.exists()

    run_confirmation_step()
    [message] = smtp_sink.messages
    link = re.search(r"https?://\S+/s/confirm/\S+/", message.text or "")
    assert link is not None
    page.goto(urlsplit(link.group(0)).path)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="You are subscribed")).to_be_visible()
    assert newsletter.recipients.get().first_name == "Ann"


@pytest.fixture
def page_with_js(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(30_000)
    yield context.new_page()
    close_context(context)


def test_the_challenge_is_solved_in_the_browser_under_the_csp(page_with_js: Page, settings):
    """A form that asks ALTCHA's proof of work: the vendored widget fetches the challenge,
    solves it in real Chromium under the strict CSP (no inline script or style), and the
    sign-up it guards goes through; the server checked the solution."""
    settings.ALTCHA_COST = 1000  # cheap here: the same work, less of it
    page = page_with_js
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "favicon" not in (message.location or {}).get("url", "")
            else None
        ),
    )
    workspace = WorkspaceFactory.create(name="Acme")
    newsletter = RecipientList.objects.create(workspace=workspace, name="Newsletter")
    form = SignupFormFactory.create(
        workspace=workspace, title="Acme news", lists=[newsletter], require_challenge=True
    )

    page.goto(f"/s/{form.public_key}/")
    page.get_by_label("E-mail address").fill("ann@example.org")
    widget = page.locator("altcha-widget .altcha")
    expect(widget).to_have_attribute("data-state", "unverified")
    # A person's click on the box (its check mark lies over the input, so not `check()`).
    box = page.locator("altcha-widget input[type=checkbox]").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(widget).to_have_attribute("data-state", "verified")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert PendingSignup.objects.filter(form=form, email="ann@example.org").exists()
    assert errors == []
