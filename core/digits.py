"""Whole numbers typed by people or sent by programs.

`str.isdigit()` is true for "²", "①" and other Unicode digits that `int()` refuses, so a
check with it followed by `int()` answers a crafted query string with a 500. Every check of
an untrusted number uses `is_number` instead (a test forbids `.isdigit()` in the code).
"""

from __future__ import annotations


def is_number(value: str | bytes) -> bool:
    """Whether `value` is a non-empty run of ASCII digits 0-9, which `int()` always reads."""
    return value.isascii() and value.isdigit()
