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


@pytest.mark.parametrize(
    ("status", "badge", "label"),
    [
        ("active", "badge-green", "Активен"),
        ("unsubscribed", "badge-gray", None),
        ("bounced", "badge-red", None),
        ("complained", "badge-red", None),
    ],
)
def test_a_row_escapes_every_field_and_shows_its_status(status, badge, label):
    planted = '"><b hx-get="/evil">x</b>'
    person = RecipientFactory.build(
        pk=7,
        email='a"<b>@example.com',
        first_name=planted,
        last_name=planted,
        company=planted,
        country=planted,
        city=planted,
        status=status,
    )
    template = engines["django"].from_string(
        "{% load recipient_rows %}{% recipient_row person can_edit %}"
    )
    for can_edit in (True, False):
        row = template.render({"person": person, "can_edit": can_edit})
        assert "<b" not in row
        assert 'hx-get="' not in row
        assert row.count("&quot;&gt;&lt;b hx-get=&quot;/evil&quot;&gt;x&lt;/b&gt;") == 5
        assert row.startswith('<tr data-email="a&quot;&lt;b&gt;@example.com">')
        assert ('type="checkbox"' in row) is can_edit
        assert '<a class="link" href="/recipients/7/">a&quot;&lt;b&gt;@example.com</a>' in row
        assert f'<span class="badge {badge}">' in row
    with translation.override("ru"):
        shown = re.search(r'class="badge [^"]*">([^<]*)<', template.render({"person": person}))
    assert shown is not None
    if label is not None:
        assert shown.group(1) == label
    assert shown.group(1) != status  # the label, translated, not the stored value


def test_a_viewer_sees_the_rows_without_checkboxes(viewer_client, workspace):
    RecipientFactory.create(workspace=workspace, email="p@example.com")
    page = viewer_client.get(reverse("audience:index")).content.decode()
    assert '<tr data-email="p@example.com">' in page
    assert 'name="ids"' not in page
