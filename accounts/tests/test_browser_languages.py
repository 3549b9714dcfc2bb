"""The language switcher in real Chromium: signed out (the cookie), then signed in (the
profile), with no JavaScript of its own."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role, User
from accounts.tests.factories import PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_switch_to_russian_signed_out_then_back_to_english_signed_in(page: Page):
    member = MembershipFactory.create(role=Role.OWNER, user__email="ada@example.test")

    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("button", name="Русский").click()
    expect(page.get_by_role("heading", name="Войти")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("button", name="Русский")).to_have_attribute("aria-pressed", "true")

    page.get_by_label("Адрес e-mail").fill("ada@example.test")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    sidebar = page.locator("#sidebar")
    expect(sidebar.get_by_role("link", name="Получатели", exact=True)).to_be_visible()

    sidebar.get_by_role("button", name="English").click()
    expect(sidebar.get_by_role("link", name="Recipients", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert User.objects.get(pk=member.user.pk).language == "en"
