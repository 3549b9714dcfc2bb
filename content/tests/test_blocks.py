"""The block document: its checks and the MJML it generates (every user value escaped)."""

import xml.etree.ElementTree as ET

import pytest
from mjml import mjml2html

from content.blocks import KINDS, blocks_to_mjml, clean_block, new_block

NASTY = "A <b>bold</b> & \"quoted\" 'single' </mj-text><mj-raw>x</mj-raw>"


def _parse(mjml: str) -> ET.Element:
    # Well-formed XML proves no value opened or closed an element or an attribute.
    return ET.fromstring(mjml)  # noqa: S314 - our own generated document


def test_text_is_escaped_and_keeps_placeholders_and_conditions():
    mjml = blocks_to_mjml(
        [new_block("text", text=NASTY + "\n{if company}at {company|home}{endif}")]
    )
    root = _parse(mjml)
    [text] = root.find("mj-body").iter("mj-text")  # type: ignore[union-attr]
    assert "".join(text.itertext()).startswith("A <b>bold</b> & \"quoted\" 'single' </mj-text>")
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; &#x27;single&#x27;" in mjml
    assert "<mj-raw>" not in mjml
    assert "<br />{if company}at {company|home}{endif}" in mjml


def test_paragraphs_come_from_blank_lines():
    mjml = blocks_to_mjml([new_block("text", text="One\ntwo\n\n\nThree")])
    assert "<p>One<br />two</p><p>Three</p>" in mjml


@pytest.mark.parametrize("field", ["href", "label"])
def test_a_button_escapes_its_label_and_link(field):
    values = {"label": "Go", "href": "https://x.test/?a=1&b=2"} | {
        field: "https://x.test/\"><x a='&"
    }
    mjml = blocks_to_mjml([new_block("button", **values)])
    [button] = _parse(mjml).iter("mj-button")
    assert (button.get("href") if field == "href" else button.text) == values[field]
    assert button.get("background-color") == "#2563eb"


def test_an_image_block_escapes_alt_and_links_and_sets_a_width():
    block = new_block("image", src="https://img.test/a.png?x=1&y=2", alt='"<hi>"', width="300")
    [image] = _parse(blocks_to_mjml([block])).iter("mj-image")
    assert image.attrib == {
        "src": "https://img.test/a.png?x=1&y=2",
        "alt": '"<hi>"',
        "width": "300px",
    }


def test_divider_spacer_social_columns_and_footer():
    blocks = [
        new_block("divider", color="#112233"),
        new_block("spacer", height="40"),
        new_block("social", facebook="https://fb.test/a&b", x="https://x.test/me"),
        new_block("columns", count="3", column_1="L <1>", column_2="M", column_3="R"),
        new_block("footer", text="ACME & Co", unsubscribe_label="Stop <now>", preferences_label=""),
    ]
    mjml = blocks_to_mjml(blocks)
    root = _parse(mjml)
    assert next(root.iter("mj-divider")).get("border-color") == "#112233"
    assert next(root.iter("mj-spacer")).get("height") == "40px"
    assert (
        '<a href="https://fb.test/a&amp;b">Facebook</a> · <a href="https://x.test/me">X</a>' in mjml
    )
    sections = list(root.iter("mj-section"))
    assert len(sections) == 5
    assert [len(list(s.iter("mj-column"))) for s in sections] == [1, 1, 1, 3, 1]
    assert "<p>L &lt;1&gt;</p>" in mjml
    assert '<a href="{unsubscribe_url}">Stop &lt;now&gt;</a></p>' in mjml
    assert "{preferences_url}" not in mjml  # no label, no link
    assert "ACME &amp; Co" in mjml


def test_every_kind_compiles_with_mrml():
    blocks = [new_block(kind) for kind in KINDS]
    blocks[1] |= {"src": "https://img.test/a.png"}
    html = mjml2html(blocks_to_mjml(blocks))
    assert html.count("mj-outlook-group-fix mj-column-per-100") >= 6


def test_no_blocks_is_still_a_valid_document():
    assert "mj-column-per-100" in mjml2html(blocks_to_mjml([]))


def test_unknown_types_are_left_out():
    assert blocks_to_mjml([{"type": "script", "text": "x"}]) == blocks_to_mjml([])


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("button", {"label": "Go", "href": "javascript:alert(1)"}, "href"),
        ("button", {"label": "", "href": "https://x.test"}, "label"),
        ("button", {"label": "Go", "href": "https://x.test", "color": "red;x:y"}, "color"),
        ("image", {"src": "data:image/png;base64,xx"}, "src"),
        ("image", {"src": "https://x.test/a.png", "width": "9000"}, "width"),
        ("spacer", {"height": "-3"}, "height"),
        ("text", {"text": "Hi", "align": "justify"}, "align"),
        ("text", {"text": "   "}, "text"),
    ],
)
def test_clean_block_refuses_bad_values(kind, data, field):
    _block, errors = clean_block(kind, data)
    assert field in errors


def test_clean_block_accepts_placeholders_as_links():
    block, errors = clean_block(
        "button", {"label": " Go ", "href": "{view_in_browser_url}", "align": "left"}
    )
    assert errors == {}
    assert block == {
        "type": "button",
        "label": "Go",
        "href": "{view_in_browser_url}",
        "color": "",
        "text_color": "",
        "align": "left",
    }
