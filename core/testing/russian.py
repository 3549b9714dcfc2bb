"""Checks that a page speaks Russian: its visible words hold the Russian ones and none of the
English ones (tests ask with `Accept-Language: ru`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

RUSSIAN = {"Accept-Language": "ru"}


def visible_text(html: str) -> str:
    """The page's visible words: no tags, scripts or attribute values."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def assert_russian(response: Any, russian: Iterable[str], english: Iterable[str]) -> str:
    """The test client's response is a 200 page showing every Russian word and none of the
    English ones."""
    if response.status_code != 200:
        raise AssertionError(f"status {response.status_code}")
    text = visible_text(response.content.decode())
    missing = [word for word in russian if word not in text]
    left = [word for word in english if word in text]
    if missing or left:
        raise AssertionError(f"Russian missing: {missing}; English left: {left}\n{text}")
    return text
