"""The README names only files that exist (it once sent readers to a missing DESIGN.md)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Made at run time, not kept in the repository.
RUNTIME = ("var/",)


def test_every_file_the_readme_names_exists():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    names = set(re.findall(r"`([\w./-]+\.(?:md|py|toml|txt|json|ya?ml|example))`", text))
    names |= set(re.findall(r"\]\(([\w./-]+\.\w+)\)", text))  # Markdown links
    missing = sorted(n for n in names if not n.startswith(RUNTIME) and not (ROOT / n).exists())
    assert missing == []
