"""Proves that Playwright drives Debian's Chromium here, without needing the app or a database."""

from playwright.sync_api import expect

from core.testing.fixtures import close_context


def test_chromium_runs_and_clicks(browser, request):
    assert request.node.get_closest_marker("browser") is not None

    page = browser.new_page()  # not the `page` fixture: that one needs live_server and the DB
    try:
        page.set_content("<button onclick=\"this.textContent='ok'\">go</button>")
        page.click("button")
        expect(page.locator("button")).to_have_text("ok")
    finally:
        page.close()


def test_a_context_close_that_does_not_answer_in_time_is_given_up(browser, capsys):
    # A bound of zero seconds stands for Chromium never answering: the test goes on.
    context = browser.new_context()
    context.new_page().set_content("<p>left behind</p>")
    assert close_context(context, seconds=0) is False
    assert "did not close a browser context within 0 s" in capsys.readouterr().out
    assert close_context(browser.new_context()) is True
