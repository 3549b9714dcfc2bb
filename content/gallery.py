"""Starter templates: well-formed, table-based HTML that mail programs show as intended.

Layout uses tables and class rules in one `<style>` block, which the renderer inlines at
compile time, so that clients that drop `<style>` (some webmail) still show the design.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STARTERS_DIR = Path(__file__).resolve().parent / "starters"


@dataclass(frozen=True)
class Starter:
    key: str
    name: str
    description: str
    subject: str

    def html(self) -> str:
        return (STARTERS_DIR / f"{self.key}.html").read_text(encoding="utf-8")


STARTERS = (
    Starter(
        "letter",
        "Plain letter",
        "A personal letter: one column, serif text.",
        "A note for {first_name|you}",
    ),
    Starter(
        "newsletter",
        "Newsletter",
        "A masthead, a greeting and three short stories.",
        "The Monthly Update for {first_name|you}",
    ),
    Starter(
        "announcement",
        "Announcement",
        "One headline, one paragraph and a button.",
        "Something new for {first_name|you}",
    ),
)


def starter(key: str) -> Starter | None:
    return next((s for s in STARTERS if s.key == key), None)
