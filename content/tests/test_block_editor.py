"""The block editor through HTTP: add, edit, move, delete, switch to code; htmx and plain posts."""

import pytest
from django.urls import reverse

from accounts.confirm import CONFIRM_FIELD
from content import services
from content.models import Template

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def template(personas):
    return services.template_create(
        workspace=personas.workspace,
        name="Blocks",
        subject="Hi",
        format="blocks",
        blocks=[],
    )


def url(name, template, **kwargs):
    return reverse(f"content:{name}", kwargs={"template_id": template.pk, **kwargs})


def types(template):
    template.refresh_from_db()
    return [b["type"] for b in template.blocks]


def test_a_new_block_template_starts_with_a_text_and_a_footer(personas, editor_client):
    data = {"format": "blocks", "name": "News", "subject": "Hi {first_name}", "text_body": ""}
    response = editor_client.post(reverse("content:create"), data)
    template = Template.objects.get()
    assert response.status_code == 302
    assert [b["type"] for b in template.blocks] == ["text", "footer"]
    assert "{unsubscribe_url}" in template.html_body
    page = editor_client.get(response.url).content.decode()
    assert 'id="blocks"' in page
    assert "Switch to MJML code" in page


def test_add_edit_move_and_delete_through_htmx(template, editor_client):
    response = editor_client.post(url("block_add", template), {"kind": "text"}, **HTMX)
    assert response.status_code == 200
    assert 'id="block-form"' in response.content.decode()  # the new block opens for editing
    editor_client.post(url("block_add", template), {"kind": "button"}, **HTMX)
    assert types(template) == ["text", "button"]

    text = {"text": "Dear {first_name|friend} <3", "align": "center"}
    response = editor_client.post(url("block_edit", template, block=0), text, **HTMX)
    assert response.status_code == 200
    template.refresh_from_db()
    assert template.blocks[0]["text"] == "Dear {first_name|friend} <3"
    assert "Dear {first_name|friend} &lt;3" in template.html_body
    assert "Dear {first_name|friend} &lt;3" in response.content.decode()  # the summary, escaped

    response = editor_client.post(url("block_move", template, block=1), {"direction": "up"}, **HTMX)
    assert response.status_code == 200
    assert types(template) == ["button", "text"]
    editor_client.post(url("block_delete", template, block=0), **HTMX)
    assert types(template) == ["text"]


def test_a_bad_field_is_shown_and_nothing_is_saved(template, editor_client):
    editor_client.post(url("block_add", template), {"kind": "button"}, **HTMX)
    before = Template.objects.get(pk=template.pk).html_body
    data = {"label": "Go", "href": "javascript:alert(1)", "align": "center"}
    response = editor_client.post(url("block_edit", template, block=0), data, **HTMX)
    assert response.status_code == 422
    assert "https://" in response.content.decode()
    assert Template.objects.get(pk=template.pk).html_body == before


def test_an_unknown_placeholder_in_a_block_is_refused(template, editor_client):
    editor_client.post(url("block_add", template), {"kind": "text"}, **HTMX)
    response = editor_client.post(
        url("block_edit", template, block=0), {"text": "Hi {shoe_size}", "align": "left"}, **HTMX
    )
    assert response.status_code == 422
    assert "shoe_size" in response.content.decode()
    template.refresh_from_db()
    assert template.blocks[0]["text"] == ""


def test_without_javascript_each_action_redirects_to_the_editor(template, editor_client):
    response = editor_client.post(url("block_add", template), {"kind": "divider"})
    assert response.status_code == 302
    assert response.url.endswith("#blocks")
    page = editor_client.get(url("block_edit", template, block=0)).content.decode()
    assert 'id="block-form"' in page
    assert types(template) == ["divider"]


def test_moving_past_an_end_and_missing_blocks(template, editor_client):
    editor_client.post(url("block_add", template), {"kind": "text"}, **HTMX)
    editor_client.post(url("block_move", template, block=0), {"direction": "up"}, **HTMX)
    assert types(template) == ["text"]
    assert editor_client.get(url("block_edit", template, block=5)).status_code == 404
    response = editor_client.post(url("block_delete", template, block=5), **HTMX)
    assert response.status_code == 422
    response = editor_client.post(url("block_add", template), {"kind": "script"}, **HTMX)
    assert response.status_code == 422
    assert types(template) == ["text"]


def test_a_viewer_cannot_change_blocks(template, viewer_client):
    response = viewer_client.post(url("block_add", template), {"kind": "text"}, **HTMX)
    assert response.status_code == 403
    assert types(template) == []


def test_switching_to_code_asks_then_keeps_the_mjml(template, editor_client):
    editor_client.post(url("block_add", template), {"kind": "spacer"}, **HTMX)
    response = editor_client.post(url("to_code", template))
    assert "cannot be turned back into blocks" in response.content.decode()
    assert types(template) == ["spacer"]
    mjml = Template.objects.get(pk=template.pk).mjml_body
    editor_client.post(url("to_code", template), {CONFIRM_FIELD: "yes"})
    template.refresh_from_db()
    assert (template.format, template.blocks, template.mjml_body) == ("mjml", [], mjml)
    page = editor_client.get(url("edit", template)).content.decode()
    assert 'name="mjml_body"' in page


def test_an_html_template_has_no_block_editor(personas, editor_client):
    template = services.template_create(
        workspace=personas.workspace, name="H", subject="S", html_body="<p>x</p>"
    )
    response = editor_client.post(url("block_add", template), {"kind": "text"}, **HTMX)
    assert response.status_code == 422
    assert 'id="blocks"' not in editor_client.get(url("edit", template)).content.decode()


def test_the_block_starter_opens_in_the_block_editor(personas, editor_client):
    response = editor_client.post(reverse("content:gallery"), {"starter": "announcement-blocks"})
    template = Template.objects.get()
    assert response.url == url("edit", template)
    assert template.format == "blocks"
    assert [b["type"] for b in template.blocks] == [
        "spacer",
        "text",
        "text",
        "button",
        "divider",
        "footer",
    ]
    assert "See what is new" in template.html_body
    assert "mj-column-per-100" in template.html_body
    page = editor_client.get(url("edit", template)).content.decode()
    assert 'Edit<span class="sr-only"> Button 4</span>' in page
    frame = editor_client.get(reverse("content:gallery_frame"), {"starter": "announcement-blocks"})
    assert "Something new is here" in frame.content.decode()


@pytest.mark.parametrize("key", ["announcement-blocks", "newsletter-blocks", "letter-blocks"])
def test_every_block_starter_compiles_opens_in_the_block_editor_and_can_be_sent(
    personas, editor_client, key
):
    from content import gallery
    from content.rendering import compile_template

    starter = gallery.starter(key)
    assert starter is not None
    response = editor_client.post(reverse("content:gallery"), {"starter": key})
    template = Template.objects.get()
    assert response.url == url("edit", template)
    assert template.format == "blocks"
    assert [b["type"] for b in template.blocks] == [b["type"] for b in starter.blocks]
    assert "{unsubscribe_url}" in template.html_body  # every starter carries the link
    compile_template(template)  # placeholders and markup are valid
