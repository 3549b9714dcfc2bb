"""Real Chromium: write a template with suggestions, preview it personalised, and prove that a
template's script cannot run in Postroom's origin."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from accounts.tests.factories import PASSWORD, MembershipFactory
from audience.models import Recipient
from content.models import Template
from content.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Dashboard", exact=True)).to_be_visible()


@pytest.fixture
def editor(db):
    return MembershipFactory.create(role=Role.EDITOR, user__email="writer@example.test")


def test_create_with_suggestions_then_preview_as_a_recipient(page: Page, editor):
    Recipient.objects.create(
        workspace=editor.workspace, email="ann@example.org", first_name="Annabel", company="Acme"
    )
    sign_in(page, "writer@example.test")
    page.goto("/templates/")
    page.get_by_role("link", name="New template").click()
    page.get_by_label("Name").fill("Welcome")
    page.get_by_label("Subject").fill("Welcome, {first_name|friend}")

    html = page.get_by_label("HTML body")
    html.click()
    html.press_sequentially("<style>p { color: #333 }</style><p>Hello {fir")
    expect(page.get_by_role("option", name="first_name")).to_be_visible()
    html.press("Enter")
    html.press_sequentially(" from {company}</p>")
    expect(html).to_have_value(
        "<style>p { color: #333 }</style><p>Hello {first_name} from {company}</p>"
    )
    page.get_by_role("button", name="Generate text from HTML").click()
    expect(page.get_by_role("textbox", name="Text body")).to_have_value(
        "Hello {first_name} from {company}\n"
    )
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Template “Welcome” created.")).to_be_visible()

    page.get_by_role("link", name="Preview").first.click()
    page.get_by_label("Show it as").select_option(label="ann@example.org")
    page.get_by_role("button", name="Show").click()
    frame = page.frame_locator("#preview-frame")
    expect(frame.get_by_text("Hello Annabel from Acme")).to_be_visible()
    expect(page.locator("#preview-headers")).to_contain_text("Welcome, Annabel")
    expect(page.locator("#preview-text")).to_contain_text("Hello Annabel from Acme")

    page.get_by_label("Width").select_option("phone")
    page.get_by_role("button", name="Show").click()
    box = page.locator("#preview-frame").bounding_box()
    assert box is not None
    assert box["width"] <= 380
    assert Template.objects.get().text_body.startswith("Hello {first_name}")


def test_a_template_script_does_not_run_in_the_preview(page: Page, editor):
    attack = (
        "<p id='shown'>Visible {first_name}</p>"
        "<script>window.top.pwned = 1; parent.document.title = 'pwned';"
        "document.getElementById('shown').textContent = 'script ran';</script>"
        "<img src='x' onerror=\"parent.document.title = 'pwned'\">"
    )
    template = TemplateFactory.create(workspace=editor.workspace, html_body=attack)
    sign_in(page, "writer@example.test")
    page.goto(f"/templates/{template.pk}/preview/")

    frame = page.frame_locator("#preview-frame")
    expect(frame.locator("#shown")).to_have_text("Visible Alex")  # rendered, script inert
    page.wait_for_timeout(300)  # give an onerror handler its chance to fire
    assert "pwned" not in page.title()
    assert page.evaluate("typeof window.pwned") == "undefined"


def test_the_template_pages_fit_a_phone(phone_page: Page, editor):
    template = TemplateFactory.create(workspace=editor.workspace)
    sign_in_phone(phone_page, "writer@example.test")
    for url in (
        "/templates/",
        "/templates/new/",
        f"/templates/{template.pk}/",
        f"/templates/{template.pk}/preview/?width=phone",
        "/templates/gallery/",
    ):
        phone_page.goto(url)
        width = phone_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{url} scrolls sideways on a phone ({width}px)"


def sign_in_phone(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
