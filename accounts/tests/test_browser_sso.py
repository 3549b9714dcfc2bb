"""Real Chromium: the sign-in page's single sign-on button, through a real OpenID Connect
provider on loopback (core.testing.oidc), to the dashboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_with_the_sso_button_lands_on_the_dashboard(page: Page, oidc_provider, settings):
    settings.SSO_BUTTON_LABEL = "Sign in with Example ID"
    UserFactory.create(email="ada@example.test")
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Sign in with Example ID").click()
    expect(page.get_by_role("link", name="Dashboard", exact=True)).to_be_visible()
    assert page.url.endswith("/")
    assert oidc_provider.token_requests  # the browser really went through the provider


def test_an_unverified_address_is_refused_on_the_sign_in_page(page: Page, oidc_provider):
    UserFactory.create(email="ada@example.test")
    oidc_provider.user["email_verified"] = False
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Sign in with single sign-on").click()
    expect(page.get_by_text("has not verified your e-mail address")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
