"""Our select template writes options in place; it must render what Django's own does."""

from __future__ import annotations

import re

from django import forms
from django.forms.renderers import DjangoTemplates, TemplatesSetting

CHOICES = [
    ("", "Any"),
    ("Group <one>", [(1, "First & best"), (2, 'Second "quoted"')]),
    (3, "Third"),
    (4, "Fourth"),
]


def squeeze(html: str) -> str:
    return re.sub(r"\s+", "", html)


def both(widget: forms.Widget, value: object) -> tuple[str, str]:
    stock = widget.render("pick", value, attrs={"id": "id_pick"}, renderer=DjangoTemplates())
    ours = widget.render("pick", value, attrs={"id": "id_pick"}, renderer=TemplatesSetting())
    return stock, ours


def test_a_select_renders_as_djangos():
    stock, ours = both(forms.Select(choices=CHOICES, attrs={"required": True}), 2)
    assert squeeze(ours) == squeeze(stock)
    assert 'value="2" selected' in ours
    assert "First &amp; best" in ours


def test_a_multiple_select_renders_as_djangos():
    stock, ours = both(forms.SelectMultiple(choices=CHOICES), [1, 3])
    assert squeeze(ours) == squeeze(stock)
    assert ours.count(" selected") == 2


def test_another_option_template_is_still_used():
    class Custom(forms.Select):
        option_template_name = "django/forms/widgets/input_option.html"

    stock, ours = both(Custom(choices=[(1, "One")]), None)
    assert squeeze(ours) == squeeze(stock)
