"""A template's mistakes are told in the reader's language, with the part and line."""

from __future__ import annotations

import pytest
from django.utils import translation

from content.syntax import TemplateSyntaxError, parse, suspicious_tags


@pytest.mark.parametrize(
    ("source", "english", "russian"),
    [
        (
            "{if company}x",
            "subject, line 1: {if company} is never closed: add {endif}",
            "subject, строка 1: {if company} не закрыт: добавьте {endif}",
        ),
        (
            "{else}",
            "subject, line 1: {else} without a matching {if …}",
            "subject, строка 1: {else} без парного {if …}",
        ),
    ],
)
def test_syntax_errors_in_both_languages(source, english, russian):
    for language, expected in (("en", english), ("ru", russian)):
        with translation.override(language), pytest.raises(TemplateSyntaxError) as caught:
            parse(source, part="subject")
        assert str(caught.value) == expected


def test_a_suspicious_tag_is_told_in_russian():
    with translation.override("ru"):
        (warning,) = suspicious_tags("Hi { first_name }", ["first_name"], part="html")
    assert warning.message == (
        "В { first_name } есть пробелы, поэтому оно будет отправлено как написано: "
        "напишите {first_name}."
    )
