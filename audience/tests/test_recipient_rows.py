"""The recipients page's rows: each links to its recipient's page and has a labelled
checkbox for the bulk actions, made by the `recipient_rows` tags (audience.templatetags)."""

from __future__ import annotations

import re

import pytest
from django.template import engines
from django.urls import reverse, set_script_prefix
from django.utils import translation

from audience.tests.factories import RecipientFactory

pytestmark = pytest.mark.django_db


def test_each_row_links_to_its_recipient_and_labels_its_checkbox(editor_client, workspace):
    people = [
        RecipientFactory.create(workspace=workspace, email=f"p{i}@example.com") for i in range(3)
    ]
    page = editor_client.get(reverse("audience:index")).content.decode()
    for person in people:
        url = reverse("audience:recipient_detail", kwargs={"recipient_id": person.pk})
        assert f'<a class="link" href="{url}">{person.email}</a>' in page
        assert (
            f'<input type="checkbox" name="ids" value="{person.pk}" '
            f'aria-label="Select {person.email}">'
        ) in page


def test_the_tags_escape_follow_the_script_prefix_and_the_language():
    template = engines["django"].from_string(
        "{% load recipient_rows %}{% recipient_url 42 %} {% select_box 42 email %}"
    )
    planted = 'x" hx-get="/evil"<b>@example.com'
    rendered = template.render({"email": planted})
    assert rendered.startswith("/recipients/42/ ")
    assert 'hx-get="' not in rendered
    assert "<b>" not in rendered
    assert "&quot; hx-get=&quot;/evil&quot;&lt;b&gt;" in rendered
    set_script_prefix("/mail/")
    try:
        assert template.render({"email": "a@example.com"}).startswith("/mail/recipients/42/ ")
    finally:
        set_script_prefix("/")
    with translation.override("ru"):
        label = re.search(r'aria-label="([^"]*)"', template.render({"email": "a@example.com"}))
    assert label is not None
    assert label.group(1) == "Выбрать a@example.com"
