"""Static guards: no user data reaches a page unescaped, and planted markup stays inert.

Django escapes every `{{ value }}`; what bypasses it is `|safe`, `{% autoescape off %}`,
`mark_safe` and its kin, `format_html` with a format built from data, and help text, which
Django's own form templates print with `|safe` (a custom field's choices once went there and
ran in other users' browsers). These tests read the source, so a new bypass fails here at once;
test_browser_planted_markup.py plants markup everywhere and looks at every page in Chromium.
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django import forms
from django.template import Context, Template
from django.test import Client

from content.views import PREVIEW_CSP
from postroom import csp
from sending.views import CAPTURED_HTML_CSP
from tracking.views import PREVIEW_CSP as VIEW_IN_BROWSER_CSP

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", "node_modules", "migrations", ".git", "test-results", "var", "bench"}
# E-mail starters are message HTML, rendered by content's renderer, shown only in sandboxes.
SKIP_TEMPLATE_DIRS = {"starters"}

# Names that mark a string safe (unescaped) or build HTML from parts without escaping them.
UNSAFE_NAMES = {"mark_safe", "SafeString", "SafeText", "html_safe", "format_html_join", "Markup"}
# Calls whose result may be used as help text although they are calls.
PRAGMA = "# markup-safe: "
CONSTANT_CALLS = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy", "ngettext"}

TEMPLATE_BYPASSES = [
    (re.compile(r"\|\s*safe(seq)?\b"), "the |safe filter"),
    (re.compile(r"{%\s*autoescape\s+off"), "{% autoescape off %}"),
    (re.compile(r"{%\s*filter\s[^%]*\bsafe"), "{% filter safe %}"),
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE), "an inline <script>"),
    (
        re.compile(r"<[a-z][^>]*\s(on[a-z]+|hx-on[:-][^=\s]*)\s*=", re.IGNORECASE),
        "an inline handler",
    ),
]
HTMX_REQUEST = re.compile(r"\shx-(get|post|put|patch|delete)\s*=")
OUR_KEY = 'data-postroom-htmx="{{ htmx_key }}"'
TAG = re.compile(r"<[a-zA-Z][^>]*>", re.DOTALL)


def _files(suffix: str) -> Iterator[Path]:
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        yield from (Path(folder) / f for f in sorted(files) if f.endswith(suffix))


def _templates() -> list[Path]:
    return [
        p
        for p in _files(".html")
        if "templates" in p.relative_to(ROOT).parts
        and not set(p.relative_to(ROOT).parts) & SKIP_TEMPLATE_DIRS
    ]


def _where(path: Path, text: str, offset: int) -> str:
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, offset) + 1}"


def test_the_checks_see_the_source():
    # Checks that read nothing pass everything.
    names = {p.name for p in _templates()}
    assert {"base.html", "recipient_form.html", "field.html"} <= names
    assert len(list(_files(".py"))) > 100


def test_no_template_bypasses_escaping_or_the_csp():
    found = []
    for path in _templates():
        text = path.read_text()
        for pattern, what in TEMPLATE_BYPASSES:
            found += [f"{_where(path, text, m.start())}: {what}" for m in pattern.finditer(text)]
    assert found == []


def test_our_htmx_elements_carry_the_page_key():
    # app.js lets a request go only from an element with the key (postroom/htmx.py).
    found = []
    for path in _templates():
        text = path.read_text()
        for tag in TAG.finditer(text):
            if HTMX_REQUEST.search(tag.group()) and OUR_KEY not in tag.group():
                found.append(_where(path, text, tag.start()))
    assert found == []


def test_iframes_of_user_html_are_sandboxed_without_scripts():
    found = []
    for path in _templates():
        text = path.read_text()
        for tag in re.finditer(r"<iframe\b[^>]*>", text, re.DOTALL):
            sandbox = re.search(r'\ssandbox(?:="([^"]*)")?', tag.group())
            if sandbox is None or re.search(r"allow-(scripts|same-origin)", sandbox.group()):
                found.append(_where(path, text, tag.start()))
    assert found == []


def _is_constant(node: ast.expr | None) -> bool:
    """True for text fixed in the source: literals, UPPER_CASE constants, gettext of those."""
    if node is None or isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id.isupper()
    if isinstance(node, ast.Attribute):  # MODULE.CONSTANT, or Class.attribute (choices)
        base = node.value
        return node.attr.isupper() or (isinstance(base, ast.Name) and base.id[:1].isupper())
    if isinstance(node, ast.JoinedStr):
        return all(_is_constant(v) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return _is_constant(node.value)
    if isinstance(node, ast.BinOp):
        return _is_constant(node.left) and _is_constant(node.right)
    if isinstance(node, ast.IfExp):
        return _is_constant(node.body) and _is_constant(node.orelse)
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_is_constant(e) for e in node.elts)
    if isinstance(node, ast.Starred):
        return _is_constant(node.value)
    if isinstance(node, ast.Call):
        func = node.func
        constant_func = (isinstance(func, ast.Name) and func.id in CONSTANT_CALLS) or (
            isinstance(func, ast.Attribute) and _is_constant(func.value)  # "…".join(CONSTANTS)
        )
        arguments = [*node.args, *(k.value for k in node.keywords)]
        return constant_func and all(_is_constant(a) for a in arguments)
    return False


def _python_faults(path: Path) -> Iterator[str]:
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source, filename=str(path))
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    for node in ast.walk(tree):
        lineno = getattr(node, "lineno", 0)
        # A line may be let through by a comment on it or just above it that says why its text
        # is fixed in the source.
        if lineno and any(re.search(rf"{PRAGMA}\S", t) for t in lines[max(lineno - 2, 0) : lineno]):
            continue
        line = f"{where}:{lineno}"
        if isinstance(node, ast.Name) and node.id in UNSAFE_NAMES:
            yield f"{line}: {node.id}"
        elif isinstance(node, ast.Attribute) and node.attr in UNSAFE_NAMES:
            yield f"{line}: {node.attr}"
        elif isinstance(node, ast.ImportFrom):
            yield from (f"{line}: {a.name}" for a in node.names if a.name in UNSAFE_NAMES)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name == "format_html" and not (node.args and isinstance(node.args[0], ast.Constant)):
                yield f"{line}: format_html with a format that is not a literal"
            for keyword in node.keywords:
                if keyword.arg == "help_text" and not _is_constant(keyword.value):
                    yield f"{line}: help_text built from data"
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                named = getattr(target, "attr", getattr(target, "id", ""))
                if named == "help_text" and not _is_constant(node.value):
                    yield f"{line}: help_text built from data"
                if (
                    named == "help_texts"
                    and isinstance(node.value, ast.Dict)
                    and not all(_is_constant(v) for v in node.value.values)
                ):
                    yield f"{line}: help_texts built from data"


def test_no_python_marks_data_safe_or_builds_help_text_from_it():
    found = [fault for path in _files(".py") for fault in _python_faults(path)]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "x = format_html(f'<p>{value}</p>')",
        "from django.utils.safestring import mark_safe",
        "x = forms.CharField(help_text=', '.join(field.choices))",
        "field.help_text = field.label",
        "x = forms.CharField(help_text=f'one of {choices}')",
    ],
)
def test_the_python_check_catches(source, tmp_path):
    # The check above must be able to fail: each of these is a fault it reports.
    path = tmp_path / "probe.py"
    path.write_text(source + "\n")
    assert list(_python_faults(path))


class _Probe(forms.Form):
    name = forms.CharField(help_text="<b id=planted>x</b>")


@pytest.mark.parametrize(
    "how",
    [
        "{{ form }}",
        "{{ form.as_p }}",
        "{{ form.as_ul }}",
        "{{ form.as_table }}",
        "{{ form.as_div }}",
        "{{ form.name.as_field_group }}",
    ],
)
def test_forms_show_help_text_escaped(how):
    html = Template(how).render(Context({"form": _Probe()}))
    assert "&lt;b id=planted&gt;" in html
    assert "<b id=planted>" not in html


def test_the_policy_forbids_inline_and_eval_scripts():
    for policy in (csp.POLICY,):
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'"
        assert "unsafe" not in policy
    # Pages of user HTML (previews, captured mail, view in browser) run no script at all.
    for policy in (PREVIEW_CSP, CAPTURED_HTML_CSP, VIEW_IN_BROWSER_CSP):
        assert "default-src 'none'" in policy
        assert "script-src" not in policy
        assert re.search(r"(^|;)\s*sandbox\s*(;|$)", policy)


@pytest.mark.django_db
def test_htmx_is_configured_against_planted_markup(client: Client):
    html = client.get("/accounts/login/").content.decode()
    found = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html)
    assert found is not None
    config = json.loads(found[1])
    assert config["selfRequestsOnly"] is True
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    key = re.search(r'<meta name="htmx-key" content="([0-9a-f]{32})">', html)
    assert key is not None
    # The key follows the browser's CSRF secret: the next page of the session has the same one.
    assert key[1] in client.get("/accounts/login/").content.decode()
    assert key[1] not in Client().get("/accounts/login/").content.decode()
