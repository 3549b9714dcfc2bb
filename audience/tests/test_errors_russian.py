"""Errors of the import and of segments reach a Russian reader in Russian, values kept, and an
English reader exactly as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import translation

from audience.importer import ImportFileError, inspect_file
from audience.segments import SegmentError, compile_definition


def _refusal(path: Path, language: str) -> str:
    with translation.override(language), pytest.raises(ImportFileError) as refused:
        inspect_file(path)
    return str(refused.value)


def test_an_empty_file_is_refused_in_the_readers_language(tmp_path: Path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"\n")
    assert _refusal(path, "en") == "The file is empty: there is nothing to import."
    assert _refusal(path, "ru") == "Файл пуст: импортировать нечего."


@override_settings(AUDIENCE_IMPORT_MAX_BYTES=1_000_000)
def test_a_file_too_large_keeps_its_figures_in_both_languages(tmp_path: Path):
    path = tmp_path / "large.csv"
    path.write_bytes(b"email\n" + b"a@example.com\n" * 100_000)
    assert _refusal(path, "en") == (
        "The file is 1.4 MB; the largest file Postroom imports is 1 MB. Split it into smaller "
        "files and import them one by one."
    )
    assert _refusal(path, "ru").startswith("Файл занимает 1.4 МБ, а Postroom импортирует")


def test_a_segment_error_names_the_field_in_russian():
    definition = {"match": "all", "conditions": [{"field": "shoe", "op": "equals", "value": 1}]}
    with translation.override("ru"), pytest.raises(SegmentError) as refused:
        compile_definition(definition, {})
    assert str(refused.value) == "Неизвестное поле 'shoe'."
    with translation.override("en"), pytest.raises(SegmentError) as refused:
        compile_definition(definition, {})
    assert str(refused.value) == "Unknown field 'shoe'."
