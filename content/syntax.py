"""The personalisation language of templates, and its parser.

The language, as the editor's help panel explains it:

- ``{first_name}`` is replaced by the recipient's value (HTML-escaped in the HTML part, as it
  is in the text part and the subject).
- ``{first_name|there}`` uses ``there`` when the value is empty. The fallback is template text:
  it may not contain ``{``, ``}`` or a line break.
- ``{if company}…{else}…{endif}`` keeps the first branch when the value is not empty, the second
  (optional) otherwise; ``{if not company}`` inverts the test. Conditions nest.
- ``{{`` writes a literal ``{``. That is needed only to write a placeholder literally, e.g.
  ``{{first_name}`` shows ``{first_name}``.

The rule that keeps CSS and other brace-rich text working: a ``{`` starts a tag only when an
identifier follows it at once and the identifier is followed by ``}`` or ``|`` (or, for the
keywords ``if``, by a space). Everything else — ``p { color: red }``, ``a{color:red}``,
``{ json }`` — is text, and ``}`` alone is always text. A tag that starts but does not finish
(``{first_name|there`` without ``}`` on its line, ``{if}``, an ``{else}`` without ``{if}``) is a
syntax error, reported with its line. ``{{first_name}}`` (the habit of other template languages)
is reported too, with a hint.

There is deliberately no expression, attribute access, filter, loop or include: a template can
read the recipient's values and nothing else, so it is sandboxed by construction and renders in
time linear in its size. That is why this small parser exists instead of Jinja2's sandbox: the
sandbox guards a language far larger than this one (and must be kept up with its escapes), and
rendering just the three parts with it takes longer than this renderer takes to produce the
whole encoded message (`make bench-render` prints both).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

MAX_DEPTH = 8  # nested {if}; more is surely a mistake, and bounds the renderer's recursion

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_START = re.compile(r"\{")
_WORD = re.compile(_IDENT)
_IF = re.compile(rf"\{{if\s+(not\s+)?({_IDENT})\}}")
_FALLBACK = re.compile(r"\|([^{}\r\n]*)\}")
_DOUBLED = re.compile(rf"\{{\{{({_IDENT})(\|[^{{}}\r\n]*)?\}}\}}")
KEYWORDS = frozenset({"if", "else", "endif", "not"})


class ContentError(Exception):
    """Base of every error the content app raises on purpose; the message can be shown."""


class TemplateSyntaxError(ContentError):
    """A template that cannot be compiled: where (part and line) and what (name) is at fault."""

    def __init__(self, message: str, *, part: str = "", line: int = 0, name: str = "") -> None:
        self.message = message
        self.part = part
        self.line = line
        self.name = name
        place = [f"{part}" if part else "", _("line %(n)s") % {"n": line} if line else ""]
        where = ", ".join(p for p in place if p)
        where = f"{where}: " if where else ""
        super().__init__(f"{where}{message}")


class UnknownPlaceholderError(TemplateSyntaxError):
    pass


class TemplateErrors(TemplateSyntaxError):
    """Faults in several parts at once; reads as the first, `errors` holds them all."""

    def __init__(self, errors: list[TemplateSyntaxError]) -> None:
        first = errors[0]
        super().__init__(first.message, part=first.part, line=first.line, name=first.name)
        self.errors = errors


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Var:
    name: str
    fallback: str
    line: int


@dataclass(frozen=True)
class If:
    name: str
    negate: bool
    then: tuple[Node, ...]
    otherwise: tuple[Node, ...]
    line: int


Node = Text | Var | If


@dataclass
class _Frame:
    name: str
    negate: bool
    line: int
    then: list[Node]
    otherwise: list[Node] | None = None


def parse(source: str, *, part: str = "") -> tuple[Node, ...]:
    """Parse `source` into nodes, or raise TemplateSyntaxError naming `part` and the line."""
    return _Parser(source, part).run()


def tag_spans(source: str) -> list[tuple[int, int]]:
    """Where each tag of a valid `source` is (start, end), in order; raises like `parse`."""
    parser = _Parser(source, "")
    parser.run()
    return parser.spans


class _Parser:
    def __init__(self, source: str, part: str) -> None:
        self.source = source
        self.part = part
        self.root: list[Node] = []
        self.stack: list[_Frame] = []
        self.text: list[str] = []
        self.spans: list[tuple[int, int]] = []  # where each tag is, for the CSS inliner
        self.seen = (0, 1)  # a position and its line: lines are counted once, not per tag

    def error(self, message: str, pos: int, name: str = "") -> TemplateSyntaxError:
        return TemplateSyntaxError(message, part=self.part, line=self.line_of(pos), name=name)

    @property
    def out(self) -> list[Node]:
        if not self.stack:
            return self.root
        frame = self.stack[-1]
        return frame.then if frame.otherwise is None else frame.otherwise

    def flush(self) -> None:
        text = "".join(self.text)
        self.text = []
        if text:
            self.out.append(Text(text))

    def run(self) -> tuple[Node, ...]:
        pos = 0
        source = self.source
        while (match := _START.search(source, pos)) is not None:
            start = match.start()
            self.text.append(source[pos:start])
            pos = self.tag(start)
        self.text.append(source[pos:])
        self.flush()
        if self.stack:
            frame = self.stack[-1]
            line = frame.line
            raise TemplateSyntaxError(
                _("{if %(name)s} is never closed: add {endif}") % {"name": frame.name},
                part=self.part,
                line=line,
                name=frame.name,
            )
        return tuple(self.root)

    def tag(self, start: int) -> int:
        """Handle the `{` at `start`; return where text resumes."""
        source = self.source
        if source.startswith("{{", start):
            doubled = _DOUBLED.match(source, start)
            if doubled:
                name = doubled.group(1)
                raise self.error(
                    _(
                        "{{%(name)s}} has doubled braces: write {%(name)s} for the value, "
                        "or {{%(name)s} to show it literally"
                    )
                    % {"name": name},
                    start,
                    name,
                )
            self.text.append("{")
            return start + 2
        word = _WORD.match(source, start + 1)
        if word is None:
            self.text.append("{")
            return start + 1
        name, after = word.group(0), word.end()
        following = source[after : after + 1]
        if name == "if" and following in (" ", "\t", "}"):
            return self.span(start, self.open_if(start))
        if following == "}":
            return self.span(start, self.simple(name, start, after + 1))
        if following == "|":
            return self.span(start, self.fallback(name, start, after))
        self.text.append("{")  # `{color:red}` and the like: text, not a tag
        return start + 1

    def span(self, start: int, end: int) -> int:
        self.spans.append((start, end))
        return end

    def simple(self, name: str, start: int, end: int) -> int:
        if name == "else":
            self.flush()
            if not self.stack or self.stack[-1].otherwise is not None:
                raise self.error(_("{else} without a matching {if …}"), start, "else")
            self.stack[-1].otherwise = []
        elif name == "endif":
            self.close_if(start)
        elif name in KEYWORDS:
            raise self.error(_("{%(name)s} is not a placeholder") % {"name": name}, start, name)
        else:
            self.flush()
            self.out.append(Var(name, "", self.line_of(start)))
        return end

    def fallback(self, name: str, start: int, bar: int) -> int:
        match = _FALLBACK.match(self.source, bar)
        if match is None:
            raise self.error(
                _(
                    "{%(name)s|… is not closed: a fallback ends with } on the same line "
                    "and may not contain braces"
                )
                % {"name": name},
                start,
                name,
            )
        if name in KEYWORDS:
            raise self.error(_("{%(name)s} cannot have a fallback") % {"name": name}, start, name)
        self.flush()
        self.out.append(Var(name, match.group(1), self.line_of(start)))
        return match.end()

    def open_if(self, start: int) -> int:
        match = _IF.match(self.source, start)
        if match is None or match.group(2) in KEYWORDS:
            raise self.error(_("write a condition as {if field} or {if not field}"), start, "if")
        if len(self.stack) >= MAX_DEPTH:
            raise self.error(
                _("conditions nest at most %(n)s deep") % {"n": MAX_DEPTH}, start, "if"
            )
        self.flush()
        name = match.group(2)
        self.stack.append(_Frame(name, bool(match.group(1)), self.line_of(start), []))
        return match.end()

    def close_if(self, start: int) -> None:
        self.flush()
        if not self.stack:
            raise self.error(_("{endif} without a matching {if …}"), start, "endif")
        frame = self.stack.pop()
        then, otherwise = tuple(frame.then), tuple(frame.otherwise or ())
        self.out.append(If(frame.name, frame.negate, then, otherwise, frame.line))

    def line_of(self, pos: int) -> int:
        last, line = self.seen
        if pos < last:
            return self.source.count("\n", 0, pos) + 1
        line += self.source.count("\n", last, pos)
        self.seen = (pos, line)
        return line


def names_in(nodes: Iterable[Node]) -> Iterable[tuple[str, int]]:
    """Every field name the nodes read, with its line, in order."""
    for node in nodes:
        if isinstance(node, Var):
            yield node.name, node.line
        elif isinstance(node, If):
            yield node.name, node.line
            yield from names_in(node.then)
            yield from names_in(node.otherwise)


@dataclass(frozen=True)
class TemplateWarning:
    """Something that is valid but surely not meant: it is saved, and the editor says so."""

    part: str
    line: int
    name: str
    message: str

    def __str__(self) -> str:
        return _("%(part)s, line %(n)s: %(message)s") % {
            "part": self.part,
            "n": self.line,
            "message": self.message,
        }


# Braces around a word that is almost a tag: spaces inside, or letters a key cannot have.
_ALMOST = re.compile(r"(?<!\{)\{(\s*)([^\W\d]\w*)(\s*)(\|[^{}\r\n]*)?\}")


def suspicious_tags(
    source: str,
    known: Iterable[str],
    *,
    part: str = "",
    suggest: Callable[[str], str | None] = lambda word: None,
) -> list[TemplateWarning]:
    """What looks like a placeholder but is text, so it would be sent as written.

    `{ first_name }` (spaces inside) is reported when the name is a field (`known`), because
    braces around a plain word are common in CSS and code samples. `{тариф}` is reported always:
    keys are Latin letters, digits and underscores, so no field can be called that. `suggest`
    gives the key the user probably means by such a word, if any.
    """
    names = set(known)
    found: list[TemplateWarning] = []
    for match in _ALMOST.finditer(source):
        before, word, after = match.group(1), match.group(2), match.group(3)
        line = source.count("\n", 0, match.start()) + 1
        shown = match.group(0)
        if not word.isascii():
            hint = suggest(word)
            if hint:
                message = _(
                    "%(shown)s is not a placeholder and is sent as written: write {%(hint)s}."
                ) % {"shown": shown, "hint": hint}
            else:
                message = _(
                    "%(shown)s is not a placeholder and is sent as written: field keys use "
                    "Latin letters, e.g. {tarif}."
                ) % {"shown": shown}
        elif (before or after) and word in names:
            message = _(
                "%(shown)s has spaces inside, so it is sent as written: write {%(word)s}."
            ) % {"shown": shown, "word": word}
        else:
            continue
        found.append(TemplateWarning(part=part, line=line, name=word, message=message))
    return found


def check_names(nodes: Iterable[Node], allowed: Iterable[str], *, part: str = "") -> None:
    """Raise UnknownPlaceholderError for the first name not in `allowed`."""
    known = set(allowed)
    for name, line in names_in(nodes):
        if name not in known:
            raise UnknownPlaceholderError(
                _("{%(name)s} is not a field of this workspace") % {"name": name},
                part=part,
                line=line,
                name=name,
            )
