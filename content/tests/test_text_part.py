"""A template without a text body still sends a readable text part, made from its HTML."""

import email
import email.policy
from typing import Any

import pytest
from django.urls import reverse

from content import services
from content.models import Template
from content.rendering import TemplateParts, compile_template
from content.syntax import TemplateSyntaxError

ENVELOPE: dict[str, Any] = {"from_email": "news@example.com", "to": "ann@example.org"}


def _text_part(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


@pytest.mark.parametrize("text", ["", "  \n\t"])
def test_an_empty_text_body_is_generated_from_the_html(text):
    parts = TemplateParts(subject="s", html="<h1>Hello {first_name}</h1><p>See you</p>", text=text)
    message = compile_template(parts).render({"first_name": "Ann"}, **ENVELOPE)
    assert "Hello Ann" in message.text
    assert "See you" in _text_part(message.raw)


def test_a_written_text_body_is_sent_as_written():
    parts = TemplateParts(subject="s", html="<p>Hello</p>", text="Plain words")
    message = compile_template(parts).render({}, **ENVELOPE)
    assert _text_part(message.raw).strip() == "Plain words"


def test_a_new_template_saved_in_the_editor_sends_a_text_part(personas, editor_client):
    editor_client.post(
        reverse("content:create"),
        {"name": "Welcome", "subject": "Hi", "html_body": "<p>Welcome, {first_name|friend}!</p>"},
    )
    template = Template.objects.get()
    assert not template.text_from_html, "the box was left unticked"
    message = compile_template(template).render({}, **ENVELOPE)
    assert "Welcome, friend!" in _text_part(message.raw)


def test_the_generated_text_is_checked_like_a_written_one(personas):
    # The HTML's placeholders reach the generated text: an unknown one is refused on save.
    with pytest.raises(TemplateSyntaxError, match="nosuch"):
        services.template_create(
            workspace=personas.workspace, name="t", subject="s", html_body="<p>{nosuch}</p>"
        )
