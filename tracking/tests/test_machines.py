"""Telling programs' opens and clicks from people's: one table per kind of hit."""

import pytest

from tracking.machines import Hit, click_is_machine, open_is_machine

PERSON = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)


@pytest.mark.parametrize(
    ("hit", "machine"),
    [
        (Hit(PERSON, "203.0.113.9", 3600), False),
        (Hit(GMAIL_PROXY, "66.249.84.1", 600), False),  # Gmail fetches when the person opens
        (Hit("Mozilla/5.0", "17.58.0.1", 3600), True),  # Apple MPP
        (Hit("Mozilla/5.0", "203.0.113.9", 3600), True),  # MPP's bare agent anywhere
        (Hit(PERSON, "17.123.4.5", 3600), True),  # Apple's network
        (Hit(PERSON, "203.0.113.9", 2.5), True),  # seconds after sending
        (Hit(PERSON, "203.0.113.9", None), False),  # sending time unknown
        (Hit("YahooMailProxy; https://help.yahoo.com", "98.136.0.1", 600), True),
        (Hit("", "203.0.113.9", 600), True),
        (Hit(PERSON, "2001:db8::1", 600), False),
        (Hit(PERSON, "not an address", 600), False),
    ],
)
def test_opens(hit, machine):
    assert open_is_machine(hit) is machine


@pytest.mark.parametrize(
    ("hit", "machine"),
    [
        (Hit(PERSON, "203.0.113.9", 600, opened_before=True), False),
        (Hit(PERSON, "203.0.113.9", 600), False),  # images off: a click without an open
        (Hit(PERSON, "203.0.113.9", 3, opened_before=False), True),  # on arrival, unopened
        (Hit(PERSON, "203.0.113.9", 3, opened_before=True), False),
        (Hit(PERSON, "203.0.113.9", 600, seconds_since_other_click=0.4), True),  # a burst
        (Hit(PERSON, "203.0.113.9", 600, seconds_since_other_click=30), False),
        (Hit("Mozilla/5.0 (compatible; Barracuda Sentinel)", "203.0.113.9", 600), True),
        (Hit("python-requests/2.32", "203.0.113.9", 600), True),
        (Hit("Mozilla/5.0 HeadlessChrome/120.0", "203.0.113.9", 600), True),
        (Hit("", "203.0.113.9", 600), True),
    ],
)
def test_clicks(hit, machine):
    assert click_is_machine(hit) is machine
