"""Property tests: whatever the template text and the recipient's values, the renderer either
produces a valid message or raises our own ContentError — never another exception, and never a
header the template did not ask for."""

import email
import email.policy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from content.rendering import TemplateParts, compile_template, inline_css
from content.syntax import ContentError, names_in, parse

NAMES = ["first_name", "company", "city", "if", "else", "endif", "not", "x"]
# Template text made of the pieces that matter (braces, names, bars, keywords, line breaks)
# and arbitrary text, so that the parser's corners are reached often.
PIECES = st.one_of(
    st.sampled_from(["{", "}", "{{", "}}", "|", " ", "\n", "\r\n", "{if ", "{else}", "{endif}"]),
    st.sampled_from(NAMES),
    st.text(max_size=8),
)
SOURCE = st.lists(PIECES, max_size=30).map("".join)
VALUE = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["\r\nBcc: evil@example.net", "\nX-Injected: 1", "a\rb", "=?utf-8?", "."]),
)
VALUES = st.dictionaries(
    st.sampled_from(NAMES), st.one_of(VALUE, st.integers(), st.none(), st.booleans()), max_size=6
)
ENVELOPE: dict[str, Any] = {
    "from_email": "a@example.com",
    "to": "b@example.org",
    "message_id": "<m@example.com>",
}
EXPECTED_HEADERS = {"from", "to", "subject", "date", "message-id", "mime-version", "content-type"}


def header_names(mail):
    names = {k.lower() for k in mail}
    if not mail.is_multipart():
        names.discard("content-transfer-encoding")  # a single part carries it at the top
    return names


def _compile(subject, html, text):
    try:
        return compile_template(TemplateParts(subject=subject, html=html, text=text))
    except ContentError:
        return None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(subject=SOURCE, html=SOURCE, text=SOURCE, values=VALUES)
def test_any_template_and_values_render_or_raise_our_error(subject, html, text, values):
    compiled = _compile(subject, html, text)
    if compiled is None:
        return
    try:
        message = compiled.render(values, from_name=str(values.get("first_name") or ""), **ENVELOPE)
    except ContentError:
        return
    mail = email.message_from_bytes(message.raw, policy=email.policy.default)
    assert header_names(mail) == EXPECTED_HEADERS
    assert all("\r" not in v and "\n" not in v for _, v in message.headers)
    assert max(len(line) for line in message.raw.split(b"\r\n")) <= 998
    # CRLF line ends only, no bare CR or LF: the SMTP wire trusts this (OutgoingMessage.crlf)
    # and sends the bytes as they are.
    assert b"\n" not in message.raw.replace(b"\r\n", b"")
    assert b"\r" not in message.raw.replace(b"\r\n", b"")
    plain = mail.get_body(("plain",))
    assert plain is not None
    assert plain.get_content().replace("\r\n", "\n") == message.text


@settings(max_examples=300, deadline=None)
@given(name=VALUE, subject_tail=st.text(max_size=20))
def test_no_value_can_add_a_header(name, subject_tail):
    compiled = compile_template(
        TemplateParts(subject="Hi {first_name} " + subject_tail.replace("{", "{{"), text="t")
    )
    message = compiled.render({"first_name": name}, from_name=name, **ENVELOPE)
    mail = email.message_from_bytes(message.raw, policy=email.policy.default)
    assert header_names(mail) == EXPECTED_HEADERS
    assert mail.get_content().replace("\r\n", "\n") == "t"


@settings(max_examples=200, deadline=None)
@given(values=VALUES)
def test_html_values_are_always_escaped(values):
    compiled = compile_template(TemplateParts(subject="s", html="<p>{first_name}|{company}</p>"))
    message = compiled.render(values, **ENVELOPE)
    assert message.html is not None
    inner = message.html[3:-4]
    assert "<" not in inner
    assert ">" not in inner


HTML_PIECES = st.one_of(
    st.sampled_from(
        [
            "<table>",
            "</table>",
            "<tr>",
            "<td class='c'>",
            "</td>",
            "</tr>",
            "<p>",
            "</p>",
            '<a href="',
            '">',
            "<title>",
            "</title>",
            "{first_name}",
            "{city|Lisbon}",
            "{if company}",
            "{else}",
            "{endif}",
            "{{",
            " ",
            "&",
        ]
    ),
    st.text(alphabet="ab <>\"'=", max_size=4),
)


@settings(max_examples=200, deadline=None)
@given(body=st.lists(HTML_PIECES, max_size=25).map("".join))
def test_css_inlining_keeps_every_tag_in_order(body):
    html = f"<html><head><style>td {{ color: red }} .c{{margin:0}}</style></head><body>{body}"
    try:
        before = list(names_in(parse(html)))
    except ContentError:
        return
    after = list(names_in(parse(inline_css(html))))
    assert [name for name, _ in after] == [name for name, _ in before]
