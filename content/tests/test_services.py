"""Services and the renderer on stored templates: starters, attachments read from files."""

import email
import email.policy
from typing import Any

import pytest

from audience.models import LINK_PLACEHOLDERS, STANDARD_FIELDS
from content import services
from content.gallery import STARTERS
from content.rendering import TemplateParts, compile_template, render_message
from content.syntax import ContentError, TemplateSyntaxError
from content.tests.factories import TemplateFactory

ENVELOPE: dict[str, Any] = {"from_email": "news@example.com", "to": "ann@example.org"}


@pytest.mark.parametrize("starter", STARTERS, ids=lambda s: s.key)
def test_starters_compile_inline_their_css_and_render(starter):
    parts = TemplateParts(subject=starter.subject, html=starter.html(), text_from_html=True)
    compiled = compile_template(parts, allowed=[*STANDARD_FIELDS, *LINK_PLACEHOLDERS])
    message = compiled.render(
        {"first_name": "Ann", "email": "ann@example.org", "unsubscribe_url": "https://u.test/1"},
        **ENVELOPE,
    )
    assert message.html is not None
    assert 'style="' in message.html  # the <style> rules were copied onto the elements
    assert "<style" in message.html  # and kept for the clients that read them
    assert "https://u.test/1" in message.html
    assert "Ann" in message.text
    assert "{" not in message.text.replace("{{", "")
    mail = email.message_from_bytes(message.raw, policy=email.policy.default)
    assert mail.get_content_type() == "multipart/alternative"


def test_a_stored_template_renders_with_its_attachments(personas):
    template = TemplateFactory.create(workspace=personas.workspace)
    services.attachment_add(template=template, filename="notes.txt", data=b"plain notes\n")
    message = render_message(template, {"first_name": "Ann"}, **ENVELOPE)
    mail = email.message_from_bytes(message.raw, policy=email.policy.default)
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "notes.txt"
    assert attachment.get_content() == "plain notes\n"
    assert message.attachments[0].data == b"plain notes\n"
    assert message.text == "Hello Ann"


def test_services_refuse_unknown_names_and_keep_the_stored_template(personas):
    template = TemplateFactory.create(workspace=personas.workspace, subject="Old")
    with pytest.raises(TemplateSyntaxError) as caught:
        services.template_update(
            template=template,
            name="x",
            subject="New {nickname}",
            html_body="",
            text_body="t",
            text_from_html=False,
        )
    assert (caught.value.part, caught.value.name) == ("subject", "nickname")
    template.refresh_from_db()
    assert template.subject == "Old"


def test_generated_text_is_checked_too(personas):
    with pytest.raises(TemplateSyntaxError) as caught:
        services.template_create(
            workspace=personas.workspace,
            name="x",
            subject="s",
            html_body="<p>{first_name}</p><p>{nickname}</p>",
            text_from_html=True,
        )
    assert caught.value.name == "nickname"


def test_a_rendered_message_goes_through_a_real_smtp_server(personas, smtp_sink):
    # What a test send does once the sending app hands the bytes to a transport.
    import smtplib

    template = TemplateFactory.create(
        workspace=personas.workspace,
        subject="Grüße, {first_name}",
        html_body="<p>Hello {first_name} of {company|nowhere}</p>",
        text_body="Hello {first_name} of {company|nowhere}",
    )
    services.attachment_add(template=template, filename="notes.txt", data=b"notes\n")
    message = render_message(
        template,
        {"first_name": "Zoë", "company": "Acme & Co"},
        from_email="news@example.com",
        from_name="News",
        to=["a@example.org", "b@example.org"],
        extra_headers={"X-Postroom-Test": "1"},
    )
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port) as client:
        client.sendmail(message.from_email, list(message.to), message.raw)
    [captured] = smtp_sink.wait_for(1)
    assert captured.subject == "Grüße, Zoë"
    assert captured.text is not None
    assert "Hello Zoë of Acme & Co" in captured.text
    assert captured.html is not None
    assert "Hello Zoë of Acme &amp; Co" in captured.html
    assert captured.header("X-Postroom-Test") == "1"
    assert captured.attachments == [("notes.txt", "text/plain", b"notes\n")]


def test_a_missing_attachment_file_is_our_error(personas):
    template = TemplateFactory.create(workspace=personas.workspace)
    attachment = services.attachment_add(template=template, filename="a.txt", data=b"a")
    attachment.file.delete(save=False)
    with pytest.raises(ContentError, match=r"a\.txt cannot be read"):
        render_message(template, {}, **ENVELOPE)


def test_bodies_are_limited_in_size(personas):
    with pytest.raises(TemplateSyntaxError, match="At most"):
        services.template_create(
            workspace=personas.workspace,
            name="x",
            subject="s",
            text_body="x" * (services.MAX_BODY_CHARS + 1),
        )


def test_template_attachments_for_the_campaign_engine(personas):
    from content.selectors import template_attachments

    template = TemplateFactory.create(workspace=personas.workspace)
    services.attachment_add(template=template, filename="a.txt", data=b"a")
    services.attachment_add(template=template, filename="b.csv", data=b"x,y\n")
    files = template_attachments(personas.workspace, template.pk)
    assert [(f.filename, f.content_type, f.data) for f in files] == [
        ("a.txt", "text/plain", b"a"),
        ("b.csv", "text/csv", b"x,y\n"),
    ]
    assert template_attachments(personas.other_workspace, template.pk) == ()
