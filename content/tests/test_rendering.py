"""The renderer's output is a valid message: parsed back with Python's e-mail package."""

import email
import email.policy
from datetime import UTC, datetime
from typing import Any

import pytest

from content.message import Attachment
from content.rendering import RenderError, TemplateParts, compile_template, inline_css
from content.syntax import TemplateErrors, TemplateSyntaxError, UnknownPlaceholderError

DATE = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
ENVELOPE: dict[str, Any] = {
    "from_email": "news@example.com",
    "from_name": "Example News",
    "to": "ann@example.org",
    "message_id": "<1.test@example.com>",
    "date": DATE,
}


def parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def render(parts: TemplateParts, values, **envelope):
    return compile_template(parts).render(values, **{**ENVELOPE, **envelope})


def test_a_complete_multipart_alternative_message():
    parts = TemplateParts(
        subject="Hello {first_name|there}",
        html="<p>Hi {first_name}, from {company|us}</p>",
        text="Hi {first_name}, from {company|us}",
    )
    message = render(parts, {"first_name": "Ann", "company": ""})
    mail = parsed(message.raw)
    assert mail["Subject"] == "Hello Ann"
    assert mail["From"] == "Example News <news@example.com>"
    assert mail["To"] == "ann@example.org"
    assert mail["Message-ID"] == "<1.test@example.com>"
    assert mail["Date"].datetime == DATE
    assert mail.get_content_type() == "multipart/alternative"
    assert mail.get_body(("plain",)).get_content() == "Hi Ann, from us"
    assert mail.get_body(("html",)).get_content() == "<p>Hi Ann, from us</p>"
    assert message.text == "Hi Ann, from us"
    assert message.html == "<p>Hi Ann, from us</p>"
    assert message.header("subject") == "Hello Ann"
    assert message.to == ("ann@example.org",)


def test_wire_format_crlf_short_lines_ascii():
    long_line = "word " * 400 + "{first_name}" + " ünïcödé" * 50
    parts = TemplateParts(subject="S", html=f"<p>{long_line}</p>", text=long_line)
    raw = render(parts, {"first_name": "Zoë " * 100}).raw
    assert raw.isascii()  # quoted-printable bodies: no 8BITMIME needed
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert "Zoë Zoë" in parsed(raw).get_body(("plain",)).get_content()


def test_values_are_escaped_in_html_and_never_in_text():
    parts = TemplateParts(subject="{company}", html="<b>{company}</b>", text="{company}")
    message = render(parts, {"company": 'Tom & "Jerry" <Ltd>'})
    assert message.html == "<b>Tom &amp; &quot;Jerry&quot; &lt;Ltd&gt;</b>"
    assert message.text == 'Tom & "Jerry" <Ltd>'
    assert message.subject == 'Tom & "Jerry" <Ltd>'


def test_conditions_choose_a_branch():
    parts = TemplateParts(subject="s", text="{if company}At {company}{else}Solo{endif}.")
    assert render(parts, {"company": "Acme"}).text == "At Acme."
    assert render(parts, {"company": "  "}).text == "Solo."
    assert render(parts, {}).text == "Solo."


def test_a_name_with_crlf_cannot_add_a_header():
    parts = TemplateParts(subject="Hi {first_name}", text="x")
    message = render(parts, {"first_name": "Eve\r\nBcc: victim@example.net\nX-Evil: 1"})
    mail = parsed(message.raw)
    assert mail["Bcc"] is None
    assert mail["X-Evil"] is None
    assert "\n" not in mail["Subject"]
    assert all("\r" not in v and "\n" not in v for _, v in message.headers)


def test_non_ascii_subject_and_name_are_rfc2047_encoded():
    parts = TemplateParts(subject="Grüße, {first_name}! " * 5, text="x")
    message = render(parts, {"first_name": "Zoë"}, from_name="Équipe Ünïcode " * 4)
    assert b"=?utf-8?b?" in message.raw
    assert max(len(line) for line in message.raw.split(b"\r\n")) <= 76
    mail = parsed(message.raw)
    assert mail["Subject"] == ("Grüße, Zoë! " * 5).strip()
    display_name = mail["From"].addresses[0].display_name
    assert " ".join(display_name.split()) == ("Équipe Ünïcode " * 4).strip()


def test_a_long_subject_is_folded():
    parts = TemplateParts(subject=" ".join(["{first_name}"] * 40), text="x")
    message = render(parts, {"first_name": "Alexandra"})
    assert parsed(message.raw)["Subject"] == " ".join(["Alexandra"] * 40)
    assert max(len(line) for line in message.raw.split(b"\r\n")) <= 78


def test_attachments_make_multipart_mixed_with_base64_parts():
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 20
    parts = TemplateParts(
        subject="s",
        html="<p>h</p>",
        text="t",
        attachments=(Attachment("Prix €.pdf", "application/pdf", pdf),),
    )
    raw = render(parts, {}).raw
    mail = parsed(raw)
    assert mail.get_content_type() == "multipart/mixed"
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "Prix €.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf
    assert mail.get_body(("html",)).get_content() == "<p>h</p>"
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78


def test_text_only_template():
    mail = parsed(
        render(TemplateParts(subject="s", text="Just {first_name}"), {"first_name": "A"}).raw
    )
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content() == "Just A"


def test_extra_headers_are_kept_and_reserved_ones_refused():
    parts = TemplateParts(subject="s", text="t")
    message = render(parts, {}, extra_headers={"List-Unsubscribe": "<https://x.example/u>"})
    assert parsed(message.raw)["List-Unsubscribe"] == "<https://x.example/u>"
    for bad in ("Bcc", "Sub ject", "X-A\r\nB"):
        with pytest.raises(RenderError):
            render(parts, {}, extra_headers={bad: "v"})


def test_output_size_is_limited():
    compiled = compile_template(TemplateParts(subject="s", text="{comment}"), max_bytes=1000)
    compiled.render({"comment": "x" * 999}, **ENVELOPE)
    with pytest.raises(RenderError):
        compiled.render({"comment": "x" * 1001}, **ENVELOPE)


def test_css_is_inlined_and_placeholders_survive_everywhere():
    html = (
        "<html><head><style>td { color: red } .b{font-weight:bold}</style>"
        "<title>{company}</title></head><body><table>{if company}<tr><td class='b'>"
        '<a href="{unsubscribe_url}" title=\'{first_name|a "friend"}\'>{first_name}</a>'
        "</td></tr>{endif}</table></body></html>"
    )
    inlined = inline_css(html)
    assert 'style="color: red;font-weight: bold;"' in inlined
    assert "<style>td { color: red } .b{font-weight:bold}</style>" in inlined  # kept
    for tag in ("<title>{company}</title>", '<a href="{unsubscribe_url}"', "{endif}</tbody>"):
        assert tag in inlined
    assert inlined.index("{if company}") < inlined.index("<tr>")
    assert 'title="{first_name|a &quot;friend&quot;}"' in inlined
    message = render(
        TemplateParts(subject="s", html=html),
        {"company": "Acme", "first_name": "Ann", "unsubscribe_url": "https://u.example/1"},
    )
    assert '<a href="https://u.example/1"' in message.html
    assert "<title>Acme</title>" in message.html


def test_text_is_generated_from_html_on_request():
    parts = TemplateParts(
        subject="s",
        html="<h1>Hello {first_name|there}</h1><p><a href='{unsubscribe_url}'>Unsubscribe</a></p>",
        text="ignored",
        text_from_html=True,
    )
    message = render(parts, {"first_name": "Ann", "unsubscribe_url": "https://u.example/1"})
    assert "Hello Ann" in message.text
    assert "https://u.example/1" in message.text
    assert "ignored" not in message.text


def test_compile_checks_names_when_told_which_exist():
    parts = TemplateParts(subject="Hi {first_name}", html="<p>\n{bonus}</p>", text="")
    compile_template(parts)  # without a list of names, anything goes
    with pytest.raises(TemplateErrors) as caught:
        compile_template(parts, allowed=["first_name"])
    assert (caught.value.part, caught.value.line, caught.value.name) == ("HTML", 2, "bonus")
    [error] = caught.value.errors
    assert isinstance(error, UnknownPlaceholderError)


def test_syntax_errors_name_the_part():
    with pytest.raises(TemplateSyntaxError) as caught:
        compile_template(TemplateParts(subject="Hi {first_name|x", text="t"))
    assert caught.value.part == "subject"


def test_a_compiled_template_serves_many_recipients():
    compiled = compile_template(TemplateParts(subject="For {first_name}", text="Dear {first_name}"))
    for name in ("Ann", "Bob", ""):
        message = compiled.render({"first_name": name}, **{**ENVELOPE, "message_id": None})
        mail = parsed(message.raw)
        assert mail.get_content() == f"Dear {name}"
        assert mail["Message-ID"].endswith("@example.com>")


def test_an_entity_that_decodes_to_a_brace_does_not_become_a_tag():
    html = "<style>p { color: red }</style><p>&#123;first_name} {first_name}</p>"
    message = render(TemplateParts(subject="s", html=html), {"first_name": "Ann"})
    assert "&#123;first_name} Ann" in message.html  # not inlined rather than re-read


def test_a_value_cannot_pose_as_an_encoded_word():
    parts = TemplateParts(subject="Hi {first_name}", text="t")
    message = render(parts, {"first_name": "=?utf-8?b?QWRtaW4=?="})
    assert parsed(message.raw)["Subject"] == "Hi =?utf-8?b?QWRtaW4=?="


def test_a_message_needs_a_recipient():
    with pytest.raises(RenderError):
        render(TemplateParts(subject="s", text="t"), {}, to=())
