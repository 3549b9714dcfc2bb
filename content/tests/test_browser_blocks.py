"""Real Chromium: build a block message (a text and a button) by keyboard and htmx, preview it
personalised, save it."""

import pytest
from playwright.sync_api import Page, expect

from audience.models import Recipient
from content.models import Template
from content.tests.test_browser import editor, sign_in

__all__ = ["editor"]

pytestmark = pytest.mark.django_db(transaction=True)


def test_build_preview_and_save_a_block_message(page: Page, editor):
    Recipient.objects.create(
        workspace=editor.workspace, email="ann@example.org", first_name="Annabel", company="Acme"
    )
    sign_in(page, "writer@example.test")
    page.goto("/templates/new/")
    page.get_by_role("link", name="Blocks", exact=True).click()
    page.get_by_label("Name").fill("Spring news")
    page.get_by_label("Subject").fill("News for {first_name|you}")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Template “Spring news” created.")).to_be_visible()

    blocks = page.locator("#blocks")
    blocks.get_by_role("link", name="Edit Text 1").click()
    text = blocks.get_by_label("Text:", exact=True)
    expect(text).to_be_focused()  # the opened form takes the keyboard focus
    text.fill("Hello {first_name|there} & welcome <friend>")
    text.press("Tab")  # by keyboard: the alignment, then the save button
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(blocks.get_by_role("status")).to_have_text("Saved")
    live = page.frame_locator("#blocks-preview")
    expect(live.get_by_text("& welcome <friend>")).to_be_visible()  # the live preview followed

    blocks.get_by_label("Add a block").select_option("button")
    blocks.get_by_role("button", name="Add", exact=True).click()
    label = blocks.get_by_label("Label:", exact=True)
    # htmx focuses the new form's first field when it settles; typing elsewhere before that
    # would be moved into it.
    expect(label).to_be_focused()
    label.fill("Read {company|it}")
    blocks.get_by_label("Link:", exact=True).fill("https://example.com/spring?a=1&b=2")
    blocks.get_by_role("button", name="Save the block").click()
    expect(blocks.get_by_role("status")).to_have_text("Saved")
    # The new button goes above the footer.
    blocks.get_by_role("button", name="Move up Button 3").click()
    expect(page.locator("#block-list > li").nth(1)).to_have_attribute("data-block-type", "button")

    template = Template.objects.get()
    assert [b["type"] for b in template.blocks] == ["text", "button", "footer"]
    page.goto(f"/templates/{template.pk}/")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Template saved.")).to_be_visible()

    page.get_by_role("link", name="Preview").first.click()
    page.get_by_label("Show it as").select_option(label="ann@example.org")
    page.get_by_role("button", name="Show").click()
    frame = page.frame_locator("#preview-frame")
    expect(frame.get_by_text("Hello Annabel & welcome <friend>")).to_be_visible()
    expect(frame.get_by_role("link", name="Read Acme")).to_have_attribute(
        "href", "https://example.com/spring?a=1&b=2"
    )
    expect(page.locator("#preview-text")).to_contain_text("Hello Annabel & welcome <friend>")
