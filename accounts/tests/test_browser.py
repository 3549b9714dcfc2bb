"""Real Chromium against the live server; e-mails arrive in the real SMTP test server."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership, Role, User
from accounts.tests.factories import PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def link_in(smtp_sink, pattern: str) -> str:
    [message] = smtp_sink.wait_for(1)
    match = re.search(pattern, message.text)
    assert match, message.text
    return match.group(0)


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_up_confirm_sign_in_and_see_the_dashboard(page: Page, smtp_sink):
    page.goto("/accounts/signup/")
    page.get_by_label("E-mail address").fill("grace@example.test")
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Password").fill("compilers-are-fun-1952")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    sign_in(page, "grace@example.test", "compilers-are-fun-1952")
    expect(page.get_by_text("not confirmed yet")).to_be_visible()

    page.goto(link_in(smtp_sink, r"https?://\S+/accounts/verify/\S+"))
    expect(page.get_by_text("is confirmed")).to_be_visible()
    page.get_by_label("Password").fill("compilers-are-fun-1952")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Grace's workspace")).to_be_visible()
    expect(page.get_by_role("link", name="Recipients", exact=True)).to_be_visible()
    assert User.objects.get().is_verified


def test_password_reset_end_to_end(page: Page, smtp_sink):
    UserFactory.create(email="ada@example.test")
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("ada@example.test")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    page.goto(link_in(smtp_sink, r"https?://\S+/accounts/password/reset/\S+"))
    page.locator("#id_new_password1").fill("a-brand-new-passphrase")
    page.locator("#id_new_password2").fill("a-brand-new-passphrase")
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_role("heading", name="Your password is changed")).to_be_visible()

    sign_in(page, "ada@example.test", "a-brand-new-passphrase")
    expect(page.get_by_role("link", name="Dashboard", exact=True)).to_be_visible()
    sign_in_again_with_old = User.objects.get().check_password(PASSWORD)
    assert not sign_in_again_with_old


def test_a_viewer_sees_but_cannot_change(page: Page):
    workspace = WorkspaceFactory.create(name="Acme")
    MembershipFactory.create(workspace=workspace, role=Role.OWNER, user__email="o@acme.test")
    viewer = MembershipFactory.create(
        workspace=workspace, role=Role.VIEWER, user__email="v@acme.test"
    )
    sign_in(page, "v@acme.test", PASSWORD)
    page.get_by_role("link", name="Settings").first.click()

    expect(page.get_by_text("o@acme.test")).to_be_visible()
    expect(page.get_by_role("button", name="Send invitation")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove")).to_have_count(0)
    expect(page.get_by_role("combobox")).to_have_count(0)

    # Even a hand-made request is refused, and nothing changes.
    status = page.evaluate(
        """async () => {
            const token = document.querySelector('meta[name=csrf-token]').content;
            const body = new URLSearchParams({name: 'Hacked', time_zone: 'UTC'});
            const r = await fetch('/settings/workspace/', {method: 'POST', body,
                headers: {'X-CSRFToken': token}});
            return r.status;
        }"""
    )
    assert status == 403
    workspace.refresh_from_db()
    assert workspace.name == "Acme"
    assert Membership.objects.get(pk=viewer.pk).role == Role.VIEWER


def test_the_layout_works_on_a_phone(phone_page: Page):
    MembershipFactory.create(role=Role.OWNER, user__email="p@example.test")
    sign_in(phone_page, "p@example.test", PASSWORD)
    nav = phone_page.get_by_role("link", name="Campaigns", exact=True)
    expect(nav).to_be_hidden()
    phone_page.get_by_role("button", name="Menu").click()
    expect(nav).to_be_visible()
    nav.click()
    expect(phone_page.get_by_role("heading", name="Campaigns")).to_be_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width}px)"
