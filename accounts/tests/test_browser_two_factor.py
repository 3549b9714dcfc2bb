"""Real Chromium: turning two-factor sign-in on, then signing in with a code from the key."""

from __future__ import annotations

from base64 import b32decode

import pytest
from django_otp.oath import hotp, totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.test_browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def _key(secret: str) -> bytes:
    return b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))


def app_code(secret: str) -> str:
    """What an authenticator app shows now for the key typed from the page."""
    return f"{totp(_key(secret)):06d}"


def next_code(secret: str, email: str) -> str:
    """The code of the step after the one the device last accepted: a code is accepted once,
    and the next step's code a step early. Counted from the device, not from the clock: a
    confirmation that crossed a 30 s boundary moves the device's drift, and a code reckoned
    from the clock alone can then fall outside its window (a flaky failure seen in CI)."""
    device = TOTPDevice.objects.get(user__email=email, confirmed=True)
    return f"{hotp(_key(secret), device.last_t + 1):06d}"


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
    page.get_by_label("Code").fill(next_code(secret, "ada@example.test"))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("link", name="Dashboard", exact=True)).to_be_visible()
