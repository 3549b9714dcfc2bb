"""Error messages that reach users are marked for translation.

A `raise X("Some sentence.")` or `raise X(f"...")`, where X is a validation error or one of the
project's exceptions whose message a page or the API shows, would reach a Russian reader in
English. The message must go through gettext (`_("...") % {...}`) instead. Each project
module is parsed (no import); a new shown exception class is found by its base.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# var/ holds what runs leave (the load bench's own venv among them), not project code.
SKIPPED_DIRS = {
    ".venv", "var", "node_modules", "tests", "migrations", "bench", "scripts", "testing",
}  # fmt: skip

# Exceptions whose message a user reads (a form, a page's message, an API error); a class
# defined in the project on one of these is shown too.
SHOWN = {
    "ValidationError",  # Django's and DRF's: forms and API answers
    "ImportFileError",  # the import page and the import API
    "SegmentError",  # the segment editor and the segments API
    "TransitionError",  # a refused campaign action, through CampaignNotAllowed
    "CampaignError",  # campaign services' refusals, on pages and in the API
    "ContentError",  # template, preview and attachment errors
    "ArchiveValuesError",  # the campaign form's archive values
    "DnsError",  # the sender domain check page
    "SequenceError",  # the sequence editor
    "UrlRefused",  # the webhook endpoint form and API
    "APIException",  # the API's error answers: DRF's below, the project's by their base
    "NotFound",
    "PermissionDenied",
    "AuthenticationFailed",
    "ParseError",
    "not_ready",  # campaigns.api.common: a ValidationError for a campaign that cannot start
}

# Raises of a shown class whose message is not a user's to read, each with its reason.
ALLOWED = {
    # Cannot happen: frozen content is checked before launch; the engine stores it for logs.
    ("campaigns/engine/send.py", "ContentError"),
}


def _project_files() -> list[Path]:
    files = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if SKIPPED_DIRS & set(parts) or "commands" in parts:
            continue
        files.append(path)
    return files


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _shown_classes(trees: dict[Path, ast.Module]) -> set[str]:
    """SHOWN and every project class that derives from one of them, however deep."""
    bases = {
        node.name: {_name(base) for base in node.bases}
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }
    shown = set(SHOWN)
    while grown := {name for name, of in bases.items() if of & shown} - shown:
        shown |= grown
    return shown


def _english_text(node: ast.expr) -> str | None:
    """The text of a bare str literal or f-string that starts with a capital, given alone or
    in a dict or list of messages (a serializer's errors by field); else None."""
    if isinstance(node, ast.Dict | ast.List | ast.Tuple):
        items = node.values if isinstance(node, ast.Dict) else node.elts
        found = [text for item in items if item and (text := _english_text(item))]
        return found[0] if found else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        first = node.values[0] if node.values else None
        value = first.value if isinstance(first, ast.Constant) else ""
        text = value if isinstance(value, str) else ""
    else:
        return None
    return text if text[:1].isupper() else None


def _said_on_a_page(node: ast.AST) -> ast.expr | None:
    """The message of `form.add_error(field, message)` or `messages.error(request, message)`
    (and the other levels), which a page shows as it is."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    if len(node.args) < 2:
        return None
    method, owner = node.func.attr, _name(node.func.value)
    if method == "add_error" or (
        owner == "messages" and method in {"error", "warning", "success", "info"}
    ):
        return node.args[1]
    return None


def unmarked_messages(files: list[Path]) -> list[str]:
    trees = {path: ast.parse(path.read_text(), str(path)) for path in files}
    shown = _shown_classes(trees)
    found = []
    for path, tree in trees.items():
        relative = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
        for node in ast.walk(tree):
            said = _said_on_a_page(node)
            if said is not None and (text := _english_text(said)) is not None:
                found.append(f"{relative}:{said.lineno}: {text[:60]!r}…")
                continue
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            cls = _name(node.exc.func)
            if cls not in shown or not node.exc.args or (relative, cls) in ALLOWED:
                continue
            text = _english_text(node.exc.args[0])
            if text is not None:
                found.append(f"{relative}:{node.lineno}: {cls}({text[:60]!r}…)")
    return found


def test_messages_shown_to_users_are_marked_for_translation():
    found = unmarked_messages(_project_files())
    assert not found, f"{len(found)} messages not marked with gettext:\n" + "\n".join(found)


def test_the_check_finds_a_bare_message_and_a_subclass(tmp_path: Path):
    source = tmp_path / "example.py"
    source.write_text(
        "class LaunchRefused(CampaignError):\n    pass\n"
        "def refuse(n):\n"
        '    raise LaunchRefused(f"At most {n} lists.")\n'
        "def check():\n"
        '    raise ValidationError(_("Choose a list."))\n'
        "def by_field():\n"
        '    raise ValidationError({"list": ["Choose a list."]})\n'
        "def internal():\n"
        '    raise ValueError("Not for users.")\n'
        "def view(request, form, exc):\n"
        '    form.add_error(None, f"The template cannot be rendered: {exc}")\n'
        '    messages.success(request, "Saved.")\n'
        '    messages.success(request, _("Saved."))\n'
    )
    trees = {source: ast.parse(source.read_text())}
    assert "LaunchRefused" in _shown_classes(trees)
    texts = [
        _english_text(node.exc.args[0])
        for node in ast.walk(trees[source])
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
    ]
    assert texts == ["At most ", None, "Choose a list.", "Not for users."]
    assert len(unmarked_messages([source])) == 4  # the view's two bare ones too
