"""What import-linter cannot say (`make lint` runs it for the layers): no module imports another
module's private names. A leading underscore means "only this module relies on it"; a caller
elsewhere needs a public name, or the function belongs to it. And no module reaches a model of
a higher layer by its label (`apps.get_model("tracking", "Event")`), which import-linter cannot
see: a lower layer that needs an answer from a higher one declares the question and the higher
one registers the answer at start-up (see `audience.engagement`).

Tests are left out: the part of issue 13 that replaces tests' reach into internals removes
theirs (sending/tests/test_smtp*.py, webhooks/tests/test_drivers.py import private names today).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("core", "accounts", "audience", "content", "sending", "campaigns", "tracking", "webhooks")


def private_imports(source: str, module: str) -> list[str]:
    """`from other import _name` lines of `source` (module `module`), as "other._name"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom) or node.level or node.module in (None, module):
            continue
        for alias in node.names:
            if alias.name.startswith("_") and not alias.name.startswith("__"):
                found.append(f"{node.module}.{alias.name}")
    return found


def layers() -> list[str]:
    """The layers contract's apps, highest first (pyproject.toml)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    return next(c["layers"] for c in contracts if c["id"] == "layers")


def models_by_label(source: str) -> list[str]:
    """The app labels that `get_model("app", …)` or `get_model("app.Model")` calls name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        first = node.args[0]
        if name == "get_model" and isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.append(first.value.split(".")[0])
    return found


def modules() -> list[tuple[str, Path]]:
    paths = [p for app in (*APPS, "postroom") for p in (ROOT / app).rglob("*.py")]
    keep = [p for p in paths if not {"tests", "migrations"} & set(p.relative_to(ROOT).parts)]
    return [(".".join(p.relative_to(ROOT).with_suffix("").parts), p) for p in keep]


def test_the_check_finds_a_private_import() -> None:
    assert private_imports("from a.b import c, _d\nfrom a.b import __all__\n", "x") == ["a.b._d"]
    assert private_imports("from x import _own\n", "x") == []


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = {
        name: found
        for name, path in modules()
        if (found := private_imports(path.read_text(encoding="utf-8"), name))
    }
    assert len(modules()) > 100  # the walk sees the apps
    assert not offenders, offenders


def test_the_check_finds_a_model_named_by_its_label() -> None:
    source = 'apps.get_model("tracking", "Event")\nx.get_model("audience.Recipient")\nget(1)\n'
    assert models_by_label(source) == ["tracking", "audience"]


def test_no_module_names_a_model_of_a_higher_layer_by_its_label() -> None:
    order = layers()
    assert order[0] == "postroom"
    assert order[-1] == "core"
    offenders = {}
    for name, path in modules():
        app = name.split(".")[0]
        above = set(order[: order.index(app)]) if app in order else set()
        if higher := above & set(models_by_label(path.read_text(encoding="utf-8"))):
            offenders[name] = sorted(higher)
    assert not offenders, offenders
