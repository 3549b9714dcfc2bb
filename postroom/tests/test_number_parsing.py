"""A number in a query string or a form is read only if `int()` can read it: Unicode digits
("²", "٣", "①") are refused with a 4xx, never a 500.

The class of fault: `value.isdigit()` then `int(value)`. The schema fuzzer found it once on
`/api/attempts/?delivery_id=²`; the scan below keeps the pattern out of the code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from core.digits import is_number

ROOT = Path(settings.BASE_DIR)
SOURCES = [
    path
    for path in ROOT.rglob("*.py")
    # var/ holds what runs leave (the load bench's own venv among them), not project code.
    if not {".venv", "var", "node_modules", "tests", "migrations"}
    & set(path.relative_to(ROOT).parts)
    and path != ROOT / "core" / "digits.py"
]


def test_no_code_checks_a_number_with_isdigit_isdecimal_or_isnumeric() -> None:
    assert len(SOURCES) > 100  # the scan saw the project
    pattern = re.compile(r"\.is(digit|decimal|numeric)\(\)")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in SOURCES
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, "use core.digits.is_number: " + ", ".join(found)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", True),
        ("0", True),
        ("", False),
        ("²", False),
        ("٣", False),
        ("①", False),
        ("1²", False),
        ("-1", False),
        (" 1", False),
    ],
)
def test_is_number_accepts_only_what_int_reads_as_ascii(value: str, expected: bool) -> None:
    assert is_number(value) is expected
    if expected:
        assert int(value) >= 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/attempts/?delivery_id=%C2%B2",
        "/api/deliveries/?campaign_id=%D9%A3",
        "/api/recipients/?list_id=%E2%91%A0",
        "/api/recipients/?page_size=%C2%B2",
    ],
)
def test_unicode_digits_in_a_query_are_a_400_not_a_500(url: str, api_for) -> None:
    api = api_for("owner")
    response = api.get(url)
    assert response.status_code == 400, (url, response.status_code)
