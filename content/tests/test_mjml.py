"""MJML templates: compiled into the HTML part on save, personalised like HTML, sent for real."""

from typing import Any

import pytest
from django.urls import reverse

from campaigns.engine.step import Engine
from campaigns.services import campaign_start
from campaigns.tests.conftest import apply_engine_settings, make_campaign
from content import services
from content.models import Template
from content.rendering import render_message
from content.syntax import TemplateSyntaxError


@pytest.fixture(autouse=True)
def _engine_settings(settings):
    apply_engine_settings(settings)


MJML = """<mjml>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text>Dear {first_name|friend}{if company} of {company}{endif}</mj-text>
        <mj-button href="{unsubscribe_url}">Unsubscribe</mj-button>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""

BROKEN = """<mjml>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text>Hello</mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""


def _mjml_template(workspace, mjml=MJML):
    return services.template_create(
        workspace=workspace,
        name="Responsive",
        subject="Hi {first_name}",
        format="mjml",
        mjml_body=mjml,
    )


def test_mjml_is_compiled_into_the_html_part_on_save(personas):
    template = _mjml_template(personas.workspace)
    assert template.format == Template.Format.MJML
    assert template.mjml_body == MJML
    # MRML's responsive markup: column classes and the media query that stacks them.
    assert "mj-column-per-100" in template.html_body
    assert "@media only screen" in template.html_body
    assert "<mj-" not in template.html_body
    message = render_message(
        template,
        {"first_name": "Zoë", "company": "A & B"},
        from_email="a@example.com",
        to="b@example.org",
    )
    assert message.html is not None
    assert "Dear Zoë of A &amp; B" in message.html
    assert "Dear Zoë of A & B" in message.text  # the text part is made from the compiled HTML


def test_a_broken_mjml_is_refused_with_its_line_and_nothing_is_stored(personas):
    with pytest.raises(TemplateSyntaxError) as caught:
        _mjml_template(personas.workspace, BROKEN)
    assert caught.value.part == "MJML"
    assert caught.value.line == 5
    assert "does not compile" in str(caught.value)
    assert not Template.objects.exists()


def test_an_unknown_placeholder_in_mjml_names_the_mjml_line(personas):
    with pytest.raises(TemplateSyntaxError) as caught:
        _mjml_template(personas.workspace, MJML.replace("{company}{endif}", "{shoe}{endif}"))
    assert (caught.value.part, caught.value.line, caught.value.name) == ("MJML", 5, "shoe")


def test_an_update_recompiles_and_a_failed_one_keeps_the_stored_version(personas):
    template = _mjml_template(personas.workspace)
    before = template.html_body
    values: dict[str, Any] = {
        "name": "R",
        "subject": "S",
        "html_body": "ignored",
        "text_body": "",
        "text_from_html": False,
    }
    with pytest.raises(TemplateSyntaxError):
        services.template_update(template=template, mjml_body=BROKEN, **values)
    template.refresh_from_db()
    assert (template.mjml_body, template.html_body) == (MJML, before)
    services.template_update(template=template, mjml_body=MJML.replace("Dear", "Hello"), **values)
    template.refresh_from_db()
    assert "Hello {first_name|friend}" in template.html_body
    assert "ignored" not in template.html_body


def test_the_editor_shows_the_mjml_error_and_keeps_what_was_typed(personas, editor_client):
    data = {"format": "mjml", "name": "N", "subject": "S", "mjml_body": BROKEN, "text_body": ""}
    response = editor_client.post(reverse("content:create"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "MJML, line 5: The MJML does not compile" in page
    assert "&lt;mj-text&gt;Hello&lt;/mj-column&gt;" in page  # the textarea still holds it
    assert not Template.objects.exists()
    response = editor_client.post(reverse("content:create"), data | {"mjml_body": MJML})
    template = Template.objects.get()
    assert response.status_code == 302
    assert template.format == "mjml"


def test_an_html_template_is_unchanged(personas, editor_client):
    data = {"name": "N", "subject": "S", "html_body": "<p>Hi {first_name}</p>", "text_body": ""}
    editor_client.post(reverse("content:create"), data)
    template = Template.objects.get()
    assert (template.format, template.html_body, template.mjml_body) == (
        "html",
        "<p>Hi {first_name}</p>",
        "",
    )


@pytest.mark.django_db
def test_an_mjml_campaign_reaches_a_real_smtp_server_personalised(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, emails=["ada@example.test"])
    template = Template.objects.get(workspace=personas.workspace)
    values: dict[str, Any] = {
        "name": "Hello",
        "subject": "Hello {first_name}",
        "html_body": "",
        "text_body": "",
    }
    Template.objects.filter(pk=template.pk).update(format="mjml")
    template.refresh_from_db()
    services.template_update(template=template, mjml_body=MJML, text_from_html=True, **values)
    setup.campaign.refresh_from_db()
    campaign_start(campaign=setup.campaign)
    Engine().step()
    [received] = smtp_sink.wait_for(1)
    assert received.html is not None
    assert "Dear Name0 of Acme" in received.html
    assert "mj-column-per-100" in received.html
    assert "@media only screen" in received.html
    assert "Dear Name0 of Acme" in received.text
    setup.campaign.refresh_from_db()
    assert setup.campaign.content["html"] == template.html_body  # frozen as compiled, once
