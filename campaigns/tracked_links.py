"""Click and open tracking, done once when a campaign's content is frozen (pure functions).

Each http(s) link of the HTML part (`<a href>`) and of a written text part (a bare URL) is
replaced by `{_click}N`: the per-delivery `/c/<token>/` prefix, filled like any placeholder
when a message is rendered, and the link's index in the frozen list. The engine so pays one
value per message, and a click can only ever be sent to a link of the frozen list.

What is never rewritten: `{unsubscribe_url}`, `{view_in_browser_url}` and `{preferences_url}`
(they are ours), mailto:, tel:, anchors and any other scheme, and a link whose own text is not
a complete piece of template (a URL cut through an `{if}`), which stays as it was, untracked.

Personalised links (`https://shop.example/?id={customer_id}`) are tracked too: the frozen
list keeps the link's template text, and the click fills it with the delivery's values
(`fill`) before redirecting, so the person lands where the untracked link would have taken
them. Only http(s) results are followed.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from content.syntax import ContentError, If, Node, Text, Var, parse, tag_spans

CLICK = "_click"  # names a custom field cannot take (they start with a letter)
OPEN = "_open"
PIXEL = (
    f'<img src="{{{OPEN}}}" width="1" height="1" alt="" '
    'style="display:block;width:1px;height:1px;border:0;opacity:0" />'
)

_HREF = re.compile(
    r"""(<a\b[^>]*?\shref\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE | re.DOTALL
)
_TEXT_URL = re.compile(r"""https?://[^\s<>"'()\[\]]+""", re.IGNORECASE)
_TRAILING = ".,;:!?"
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_HTTP = re.compile(r"\s*https?://", re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    """One tracked link: its template text, and whether it came from HTML (entities)."""

    source: str
    html: bool

    def as_json(self) -> list[object]:
        return [self.source, self.html]


@dataclass(frozen=True)
class Tracked:
    html: str
    text: str
    links: tuple[Link, ...]


def rewrite(html: str, text: str, *, clicks: bool, opens: bool, first: int = 0) -> Tracked:
    """The parts with their links rewritten (`clicks`) and the open pixel added (`opens`).

    `text` is left alone when empty: the text part is then made from the rewritten HTML.
    `first`: the index of the first link; an A/B test's content variant counts on from the
    links of the variants before it, so that the campaign keeps one list of links.
    """
    found: dict[str, tuple[int, Link]] = {}
    if clicks:
        spans = _tags(html)
        html = _HREF.sub(lambda m: _href(m, found, first) if _whole(m, spans) else m.group(0), html)
        spans = _tags(text)
        text = _TEXT_URL.sub(
            lambda m: _text_url(m, found, first) if _whole(m, spans) else m.group(0), text
        )
    if opens and html.strip():
        ends = list(_BODY_END.finditer(html))
        at = ends[-1].start() if ends else len(html)
        html = html[:at] + PIXEL + html[at:]
    return Tracked(html, text, tuple(link for _, link in found.values()))


def _tags(source: str) -> list[tuple[int, int]]:
    try:
        return tag_spans(source)
    except ContentError:  # checked before freezing; never rewrite what does not parse
        return [(0, len(source) + 1)]


def _whole(match: re.Match[str], spans: list[tuple[int, int]]) -> bool:
    """Whether no template tag is cut by the match's start or end."""
    start, end = match.span()
    return not any(a < start < b or a < end < b for a, b in spans)


def _index(link: Link, found: dict[str, tuple[int, Link]], first: int) -> int | None:
    """The link's index; one link in both parts (`&amp;` in the HTML) has one index."""
    try:
        parse(link.source)  # a link cut through an {if}: left alone
    except ContentError:
        return None
    key = html_lib.unescape(link.source) if link.html else link.source
    return found.setdefault(key, (first + len(found), link))[0]


def _href(match: re.Match[str], found: dict[str, tuple[int, Link]], first: int) -> str:
    quote = '"' if match.group(2) is not None else "'"
    source = match.group(2) if match.group(2) is not None else match.group(3)
    if not _HTTP.match(source):
        return match.group(0)
    index = _index(Link(source.strip(), html=True), found, first)
    if index is None:
        return match.group(0)
    return f"{match.group(1)}{quote}{{{CLICK}}}{index}{quote}"


def _text_url(match: re.Match[str], found: dict[str, tuple[int, Link]], first: int) -> str:
    url = match.group(0)
    kept = url.rstrip(_TRAILING)
    index = _index(Link(kept, html=False), found, first)
    if index is None:
        return url
    return f"{{{CLICK}}}{index}{url[len(kept) :]}"


def fill(link: Link, values: Mapping[str, str]) -> str:
    """Where a tracked link leads for one delivery: its template filled with `values`, the
    HTML entities of an href decoded (as the reader's browser would have)."""
    return _fill(parse(link.source), values, link.html).strip()


def _fill(nodes: tuple[Node, ...], values: Mapping[str, str], entities: bool) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, Text):
            out.append(html_lib.unescape(node.text) if entities else node.text)
        elif isinstance(node, Var):
            value = values.get(node.name, "")
            if not value.strip():
                value = html_lib.unescape(node.fallback) if entities else node.fallback
            out.append(value)
        elif isinstance(node, If):
            filled = bool(values.get(node.name, "").strip())
            out.append(
                _fill(node.then if filled != node.negate else node.otherwise, values, entities)
            )
    return "".join(out)


def is_followable(url: str) -> bool:
    """Only http(s) with a host: a value that filled a link cannot make it `javascript:`."""
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def with_utm(url: str, utm: Mapping[str, str]) -> str:
    """`url` with the campaign's UTM parameters added; one it has already is kept."""
    wanted = {f"utm_{key}": value for key, value in utm.items() if value}
    if not wanted:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    added = [(key, value) for key, value in wanted.items() if key not in present]
    if not added:
        return url
    extra = urlencode(added)
    joined = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=joined))
