"""Real Chromium: a reader opens a workspace's public archive, follows a campaign and reads it
with sample values, under the archive's sandbox policy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.tests.factories import WorkspaceFactory
from archive.tests.test_archive import open_archive, sent_campaign
from core.testing.fixtures import close_context

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reader(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    yield context.new_page()
    close_context(context)


def test_a_reader_opens_the_archive_and_one_campaign(reader: Page):
    workspace = WorkspaceFactory.create(name="Acme news")
    key = open_archive(workspace)
    campaign = sent_campaign(workspace)
    errors: list[str] = []
    reader.on("pageerror", lambda exc: errors.append(str(exc)))

    reader.goto(f"/archive/{key}/")
    expect(reader.get_by_role("heading", name="Acme news")).to_be_visible()
    assert reader.locator("html").get_attribute("lang") == "en"
    feed = reader.locator('link[rel="alternate"][type="application/rss+xml"]')
    assert feed.get_attribute("href") == f"/archive/{key}/feed/"
    reader.get_by_role("link", name="News for Alex").click()

    reader.wait_for_url(f"**/archive/{key}/{campaign.pk}/")
    expect(reader.get_by_text("Dear Alex of Sample & Co")).to_be_visible()
    expect(reader.get_by_role("link", name="Sale")).to_have_attribute(
        "href", "https://shop.example/sale?x=1&y=2"
    )
    expect(reader.locator("img")).to_have_count(0)  # no open pixel
    assert "Name0" not in reader.content()
    assert errors == []
