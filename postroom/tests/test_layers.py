"""What import-linter cannot say (`make lint` runs it for the layers): no module imports another
module's private names. A leading underscore means "only this module relies on it"; a caller
elsewhere needs a public name, or the function belongs to it. And no module reaches a model of
a higher layer by its label (`apps.get_model("tracking", "Event")`), which import-linter cannot
see: a lower layer that needs an answer from a higher one declares the question and the higher
one registers the answer at start-up (see `audience.engagement`).

Tests are held to the first rule too: a test that reaches into another module's internals
tests how the code is written, not what it does.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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


def modules(*, with_tests: bool = False) -> list[tuple[str, Path]]:
    """Every module of every app in the layers contract (so a new app is walked too)."""
    left_out = {"migrations"} if with_tests else {"tests", "migrations"}
    paths = [p for app in layers() for p in (ROOT / app).rglob("*.py")]
    keep = [p for p in paths if not left_out & set(p.relative_to(ROOT).parts)]
    return [(".".join(p.relative_to(ROOT).with_suffix("").parts), p) for p in keep]


def test_the_check_finds_a_private_import() -> None:
    assert private_imports("from a.b import c, _d\nfrom a.b import __all__\n", "x") == ["a.b._d"]
    assert private_imports("from x import _own\n", "x") == []


def test_no_module_imports_another_modules_private_names() -> None:
    walked = modules(with_tests=True)
    offenders = {
        name: found
        for name, path in walked
        if (found := private_imports(path.read_text(encoding="utf-8"), name))
    }
    assert {name.split(".")[0] for name, _ in walked} == set(layers())  # every app walked
    assert any(".tests." in name for name, _ in walked)  # and their tests
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
