"""Real Chromium: turning two-factor sign-in on, then signing in with a code from the key."""

from __future__ import annotations

from base64 import b32decode

import pytest
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.test_browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def app_code(secret: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the key typed from the page (`steps_ahead` later:
    a code is accepted once, and the next 30 s step's code is accepted a step early)."""
    key = b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    return f"{totp(key, t0=-30 * steps_ahead):06d}"


def test_turn_two_factor_on_and_sign_in_with_a_code(page: Page):
    UserFactory.create(email="ada@example.test")
    sign_in(page, "ada@example.test", PASSWORD)
    page.goto("/accounts/profile/")
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    page.get_by_role("button", name="Set up two-factor sign-in").click()

    expect(page.get_by_alt_text("QR code for your authenticator app")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code").fill(app_code(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is on.")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)

    page.context.clear_cookies()
    sign_in(page, "ada@example.test", PASSWORD)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code").fill(app_code(secret, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("link", name="Dashboard", exact=True)).to_be_visible()
