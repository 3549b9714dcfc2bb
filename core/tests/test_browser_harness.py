"""Proves that Playwright drives Debian's Chromium here, without needing the app or a database."""

from playwright.sync_api import expect


def test_chromium_runs_and_clicks(browser, request):
    assert request.node.get_closest_marker("browser") is not None

    page = browser.new_page()  # not the `page` fixture: that one needs live_server and the DB
    try:
        page.set_content("<button onclick=\"this.textContent='ok'\">go</button>")
        page.click("button")
        expect(page.locator("button")).to_have_text("ok")
    finally:
        page.close()
