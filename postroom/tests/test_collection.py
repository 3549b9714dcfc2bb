"""CI must run every app's tests: none may be left out of collection or coverage again."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def apps_with_tests() -> set[str]:
    return {path.parent.parent.name for path in ROOT.glob("*/tests/__init__.py")}


def test_pytest_collects_from_the_whole_tree() -> None:
    """A `testpaths` list is how webhooks' tests once went unrun: there must be none."""
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "testpaths" not in options
    skipped = set(options.get("norecursedirs", []))
    assert not apps_with_tests() & skipped


def test_coverage_measures_every_app_with_tests() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    sources = set(config["tool"]["coverage"]["run"]["source"])
    missing = apps_with_tests() - sources
    assert not missing, f"apps with tests left out of coverage: {sorted(missing)}"
    assert "webhooks" in apps_with_tests()  # the check itself sees the apps


def test_a_whole_run_collects_every_app(request) -> None:
    """When the whole suite runs, it holds tests of every app."""
    collected = {item.path.relative_to(ROOT).parts[0] for item in request.session.items}
    if len(collected) < 3:
        pytest.skip("only chosen files were collected; the whole suite checks every app")
    assert apps_with_tests() <= collected, sorted(apps_with_tests() - collected)
