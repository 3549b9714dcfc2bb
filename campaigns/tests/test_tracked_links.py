"""Link rewriting at freeze time (pure): what is tracked, what is left alone."""

import pytest

from campaigns.tracked_links import PIXEL, Link, fill, is_followable, rewrite, with_utm
from content.rendering import TemplateParts, compile_template


def test_http_links_become_the_click_prefix_and_an_index():
    html = (
        '<a href="https://a.example/x?y=1&amp;z=2">A</a> '
        "<a class='b' href='http://b.example/'>B</a> "
        '<a href="https://a.example/x?y=1&amp;z=2">A again</a>'
    )
    tracked = rewrite(html, "", clicks=True, opens=False)
    assert tracked.html == (
        '<a href="{_click}0">A</a> '
        "<a class='b' href='{_click}1'>B</a> "
        '<a href="{_click}0">A again</a>'
    )
    assert tracked.links == (
        Link("https://a.example/x?y=1&amp;z=2", True),
        Link("http://b.example/", True),
    )
    assert fill(tracked.links[0], {}) == "https://a.example/x?y=1&z=2"


@pytest.mark.parametrize(
    "href",
    [
        "{unsubscribe_url}",
        "{view_in_browser_url}",
        "mailto:ann@example.test",
        "tel:+123",
        "#top",
        "/relative",
        "{website}",
    ],
)
def test_our_links_mail_phone_and_anchors_are_not_rewritten(href):
    html = f'<a href="{href}">x</a>'
    tracked = rewrite(html, f"see {href}", clicks=True, opens=False)
    assert tracked.html == html
    assert tracked.links == ()


def test_text_urls_are_rewritten_without_their_trailing_punctuation():
    tracked = rewrite("", "Read https://a.example/post. Bye", clicks=True, opens=False)
    assert tracked.text == "Read {_click}0. Bye"
    assert tracked.links == (Link("https://a.example/post", False),)


def test_a_personalised_link_is_filled_with_the_delivery_values():
    html = '<a href="https://shop.example/?who={first_name|friend}&amp;c={city}">Shop</a>'
    tracked = rewrite(html, "", clicks=True, opens=False)
    [link] = tracked.links
    assert fill(link, {"first_name": "Ann & Bo", "city": "Oslo"}) == (
        "https://shop.example/?who=Ann & Bo&c=Oslo"
    )
    assert fill(link, {}) == "https://shop.example/?who=friend&c="


def test_a_link_cut_through_a_condition_is_left_alone_and_the_template_still_compiles():
    text = "Go https://a.example/{if vip} now{endif}"
    tracked = rewrite("", text, clicks=True, opens=False)
    assert tracked.text == text
    compile_template(TemplateParts(subject="s", text=tracked.text))


def test_the_pixel_goes_before_the_body_end_and_only_when_asked():
    html = "<html><body><p>Hi</p></body></html>"
    assert rewrite(html, "", clicks=False, opens=True).html == (
        f"<html><body><p>Hi</p>{PIXEL}</body></html>"
    )
    assert rewrite("<p>Hi</p>", "", clicks=False, opens=True).html == f"<p>Hi</p>{PIXEL}"
    assert rewrite(html, "", clicks=True, opens=False).html == html


def test_tracking_off_changes_nothing():
    html = '<a href="https://a.example/">A</a>'
    tracked = rewrite(html, "https://a.example/", clicks=False, opens=False)
    assert (tracked.html, tracked.text, tracked.links) == (html, "https://a.example/", ())


@pytest.mark.parametrize(
    ("url", "followable"),
    [
        ("https://a.example/", True),
        ("HTTP://a.example", True),
        ("javascript:alert(1)", False),
        ("https:///nohost", False),
        ("//a.example/", False),
    ],
)
def test_only_http_addresses_are_followed(url, followable):
    assert is_followable(url) is followable


def test_utm_parameters_are_added_but_never_replace_the_links_own():
    utm = {"source": "postroom", "medium": "email", "campaign": ""}
    assert with_utm("https://a.example/p?x=1#f", utm) == (
        "https://a.example/p?x=1&utm_source=postroom&utm_medium=email#f"
    )
    assert with_utm("https://a.example/?utm_source=mine", utm) == (
        "https://a.example/?utm_source=mine&utm_medium=email"
    )
    assert with_utm("https://a.example/", {}) == "https://a.example/"
