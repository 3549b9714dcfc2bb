""".env.example documents every variable the settings read, and only those."""

from __future__ import annotations

import ast
import re
from pathlib import Path

BASE = Path(__file__).resolve().parents[2]
ENV_METHODS = {"str", "bool", "int", "float", "list", "db_url", "email_url", "json", "url"}
# Functions of settings.py that read the variable named by their first argument.
READERS = {"_secret", "_networks"}
# Read outside settings.py, by a command or a library, and documented all the same.
READ_ELSEWHERE = {"DJANGO_SUPERUSER_EMAIL", "DJANGO_SUPERUSER_PASSWORD"}


def variables_read(source: str) -> set[str]:
    """Names passed as the first argument of env.<method>(...), Env().<method>(...) and the
    settings' own readers; a _secret name is also readable as NAME_FILE."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr in ENV_METHODS) or (
            isinstance(func, ast.Name) and func.id in READERS
        ):
            names.add(first.value)
    return names


def variables_documented(text: str) -> set[str]:
    """NAME=… lines, commented out (an optional one) or not."""
    return set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def test_the_reader_finds_every_kind_of_read():
    source = (
        'A = env.str("ONE", default="")\nB = environ.Env().str("TWO")\n'
        'C = _secret("THREE")\nD = env.db_url("FOUR")\nE = other.get("NOT_ONE")\n'
    )
    assert variables_read(source) == {"ONE", "TWO", "THREE", "FOUR"}


def test_every_variable_the_settings_read_is_in_env_example():
    read = variables_read((BASE / "postroom" / "settings.py").read_text(encoding="utf-8"))
    documented = variables_documented((BASE / ".env.example").read_text(encoding="utf-8"))
    assert len(read) > 70  # the reader works (it found the settings' variables)
    assert sorted(read - documented) == []
    assert sorted(documented - read - READ_ELSEWHERE) == []
