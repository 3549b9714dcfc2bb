"""scripts/check-translations, CI's check of the catalogs: it passes on the checkout, and it
fails on a copy of it with a marked string missing from the catalog, an untranslated or fuzzy
entry, or a compiled catalog older than its .po."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path("scripts") / "check-translations"
PO = Path("locale") / "ru" / "LC_MESSAGES" / "django.po"


@pytest.fixture(autouse=True)
def _gettext() -> None:
    if shutil.which("msgfmt") is None:
        reason = "the translation checks need GNU gettext: run `make gettext` as root"
        if os.environ.get("POSTROOM_REQUIRE_SERVICES") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / SCRIPT)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the checkout's files (the script's own copy leaves out the same things)."""
    copy = tmp_path / "checkout"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(".*", "node_modules", "var", "test-results", "__pycache__"),
    )
    return copy


def test_the_checkout_passes():
    result = _check(ROOT)
    assert result.returncode == 0, result.stderr
    assert "ru: complete and up to date" in result.stdout


def test_a_marked_string_missing_from_the_catalog_fails(checkout: Path):
    page = checkout / "templates" / "planted_for_the_check.html"
    page.write_text('{% load i18n %}<p>{% translate "A planted string nobody translated" %}</p>\n')
    result = _check(checkout)
    assert result.returncode == 1
    assert "missing a marked string: 'A planted string nobody translated'" in result.stderr
    assert "make messages" in result.stderr


def test_an_untranslated_entry_fails(checkout: Path):
    po = checkout / PO
    text = po.read_text(encoding="utf-8")
    translated, untranslated = (
        'msgid "Dashboard"\nmsgstr "Обзор"\n',
        'msgid "Dashboard"\nmsgstr ""\n',
    )
    assert translated in text
    po.write_text(text.replace(translated, untranslated))
    result = _check(checkout)
    assert result.returncode == 1
    assert "1 untranslated entries" in result.stderr
    # The compiled catalog no longer matches the .po either.
    assert "does not match" in result.stderr


def test_a_fuzzy_entry_fails(checkout: Path):
    po = checkout / PO
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace('msgid "Dashboard"\n', '#, fuzzy\nmsgid "Dashboard"\n', 1))
    result = _check(checkout)
    assert result.returncode == 1
    assert "1 fuzzy entries" in result.stderr


def test_a_stale_compiled_catalog_fails(checkout: Path):
    po = checkout / PO
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace('msgstr "Обзор"\n', 'msgstr "Сводка"\n', 1))
    result = _check(checkout)
    assert result.returncode == 1
    assert "django.mo does not match" in result.stderr
    assert "untranslated" not in result.stderr


def test_a_broken_catalog_fails(checkout: Path):
    po = checkout / PO
    text = po.read_text(encoding="utf-8")
    # A translation that drops a placeholder of the original: msgfmt --check refuses it.
    broken = text.replace('msgstr "Удалить %(email)s?"', 'msgstr "Удалить?"', 1)
    assert broken != text
    po.write_text(broken)
    result = _check(checkout)
    assert result.returncode == 1
    assert "msgfmt --check fails" in result.stderr


def test_the_catalog_is_loaded_with_russian_plural_forms():
    # The committed .mo is what Django reads: 1, 2-4 and 5+ take their own forms.
    with translation.override("ru"):
        forms = [
            translation.ngettext("%(n)s attempt", "%(n)s attempts", n) % {"n": n}
            for n in (1, 2, 5, 11, 21)
        ]
    assert forms == ["1 попытка", "2 попытки", "5 попыток", "11 попыток", "21 попытка"]
