"""The block editor's document: a list of blocks, stored as JSON on the template, and its MJML.

A block is a dict with a "type" (a key of KINDS) and string values for that kind's fields.
`clean_block` turns what a form posted into such a dict or says what is wrong;
`blocks_to_mjml` writes the MJML of a list of them. Both are pure (no database, no request),
so the whole editor's output is tested here.

Every user value is escaped into the MJML: element text with `&`, `<`, `>` and quotes escaped,
attributes quoted and escaped the same way, so a value can never open an element or an
attribute. Colours and numbers are checked against strict patterns and URLs must be http(s),
mailto or a placeholder, so an attribute cannot carry CSS or a `javascript:` link either.
Placeholders and conditionals (`{first_name|there}`, `{if company}…{endif}`) survive escaping
as written: their characters are never escaped.

Each block becomes its own `mj-section`; a "columns" block becomes one section of 2 or 3
`mj-column`s, each with its own text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

Block = dict[str, str]

MAX_BLOCKS = 100  # far above a real message; bounds one document's size
MAX_TEXT = 20_000
_COLOR = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?\Z")
_URL = re.compile(r"(?:https?://[^\s]+|mailto:[^\s]+|\{[A-Za-z_][A-Za-z0-9_]*(?:\|[^{}]*)?\}\S*)\Z")
ALIGNS = ("left", "center", "right")
_DIGITS = re.compile(r"[0-9]{1,6}\Z")


@dataclass(frozen=True)
class Field:
    """One field of a block kind: `kind` is text, multiline, url, color, int or choice."""

    name: str
    label: StrOrPromise
    kind: str = "text"
    required: bool = False
    default: str = ""
    choices: tuple[str, ...] = ()
    low: int = 0
    high: int = 0


_ALIGN = Field("align", _("Alignment"), "choice", default="left", choices=ALIGNS)

KINDS: dict[str, tuple[StrOrPromise, tuple[Field, ...]]] = {
    "text": (_("Text"), (Field("text", _("Text"), "multiline", required=True), _ALIGN)),
    "image": (
        _("Image"),
        (
            Field("src", _("Image address"), "url", required=True),
            Field("alt", _("Description (alt text)")),
            Field("href", _("Link"), "url"),
            Field("width", _("Width in pixels"), "int", low=20, high=600),
        ),
    ),
    "button": (
        _("Button"),
        (
            Field("label", _("Label"), required=True),
            Field("href", _("Link"), "url", required=True),
            Field("color", _("Button colour"), "color", default="#2563eb"),
            Field("text_color", _("Label colour"), "color", default="#ffffff"),
            Field("align", _("Alignment"), "choice", default="center", choices=ALIGNS),
        ),
    ),
    "divider": (_("Divider"), (Field("color", _("Colour"), "color", default="#e5e7eb"),)),
    "spacer": (
        _("Spacer"),
        (Field("height", _("Height in pixels"), "int", default="24", low=4, high=200),),
    ),
    "social": (
        _("Social links"),
        (
            Field("facebook", "Facebook", "url"),
            Field("instagram", "Instagram", "url"),
            Field("linkedin", "LinkedIn", "url"),
            Field("x", "X", "url"),
            Field("youtube", "YouTube", "url"),
        ),
    ),
    "columns": (
        _("Columns"),
        (
            Field("count", _("Columns"), "choice", default="2", choices=("2", "3")),
            Field("column_1", _("First column"), "multiline"),
            Field("column_2", _("Second column"), "multiline"),
            Field("column_3", _("Third column (with three columns)"), "multiline"),
        ),
    ),
    "footer": (
        _("Footer"),
        (
            Field("text", _("Text (your address, why they receive this)"), "multiline"),
            Field("unsubscribe_label", _("Unsubscribe link"), required=True),
            Field("preferences_label", _("Preferences link")),
        ),
    ),
}
SOCIAL_NAMES = {"facebook": "Facebook", "instagram": "Instagram", "linkedin": "LinkedIn"} | {
    "x": "X",
    "youtube": "YouTube",
}


def fields_of(kind: str) -> tuple[Field, ...]:
    return KINDS[kind][1]


def new_block(kind: str, **values: str) -> Block:
    """A block of `kind` with its defaults, then `values` (KeyError for an unknown kind)."""
    block = {"type": kind} | {f.name: f.default for f in fields_of(kind)}
    return block | {k: v for k, v in values.items() if k in block}


def clean_block(kind: str, data: Mapping[str, Any]) -> tuple[Block, dict[str, str]]:
    """The block `data` describes, and the errors of its fields by field name (empty if none).

    Values are stripped strings; an unknown kind is a KeyError (the caller's routes name it).
    """
    block: Block = {"type": kind}
    errors: dict[str, str] = {}
    for field in fields_of(kind):
        raw = data.get(field.name)
        value = str(raw if raw is not None else "").replace("\r\n", "\n").strip()
        error = _field_error(field, value)
        if error:
            errors[field.name] = error
        block[field.name] = value
    return block, errors


def _field_error(field: Field, value: str) -> str:
    if not value:
        return str(_("This field is required.")) if field.required else ""
    limit = MAX_TEXT if field.kind == "multiline" else 2000
    if len(value) > limit:
        return str(_("At most %(n)s characters.") % {"n": limit})
    if field.kind == "url" and not _URL.match(value):
        return str(
            _("Use an address starting with https://, http:// or mailto:, or a placeholder.")
        )
    if field.kind == "color" and not _COLOR.match(value):
        return str(_("Use a colour like #1a2b3c."))
    if field.kind == "choice" and value not in field.choices:
        return str(_("Pick one of the choices."))
    if field.kind == "int" and not (_DIGITS.match(value) and field.low <= int(value) <= field.high):
        return str(
            _("A whole number from %(low)s to %(high)s.") % {"low": field.low, "high": field.high}
        )
    return ""


# --- MJML -----------------------------------------------------------------------------------

HEAD = (
    "<mj-head>\n"
    "  <mj-attributes>\n"
    '    <mj-all font-family="Helvetica, Arial, sans-serif" />\n'
    '    <mj-text font-size="16px" line-height="1.5" color="#1f2937" />\n'
    "  </mj-attributes>\n"
    "</mj-head>\n"
)


def blocks_to_mjml(blocks: Sequence[Mapping[str, str]]) -> str:
    """The MJML document of `blocks`, in order. Blocks of an unknown type are left out."""
    sections = [_section(block) for block in blocks if block.get("type") in KINDS]
    body = "".join(sections) or _SECTION.format(attrs="", columns=_column(""))
    return f'<mjml>\n{HEAD}<mj-body background-color="#f3f4f6">\n{body}</mj-body>\n</mjml>\n'


_SECTION = '  <mj-section background-color="#ffffff"{attrs}>\n{columns}  </mj-section>\n'


def _column(content: str) -> str:
    return f"    <mj-column>\n{content}    </mj-column>\n"


def _section(block: Mapping[str, str]) -> str:
    kind = block["type"]
    if kind == "columns":
        count = 3 if block.get("count") == "3" else 2
        columns = "".join(
            _column(_text(block.get(f"column_{n}", ""), "left")) for n in range(1, count + 1)
        )
        return _SECTION.format(attrs="", columns=columns)
    return _SECTION.format(attrs="", columns=_column(_WRITERS[kind](block)))


def attr(value: str) -> str:
    """`value` for a double-quoted XML attribute."""
    return html.escape(value, quote=True)


def text_html(value: str) -> str:
    """Multiline user text as HTML: escaped, blank lines between paragraphs, breaks in them."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", value.strip()) if p.strip()]
    return "".join(
        "<p>" + "<br />".join(html.escape(line, quote=True) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


def _align(block: Mapping[str, str], default: str = "left") -> str:
    value = block.get("align", default)
    return value if value in ALIGNS else default


def _text(value: str, align: str) -> str:
    return f'      <mj-text align="{align}">{text_html(value)}</mj-text>\n' if value.strip() else ""


def _write_text(block: Mapping[str, str]) -> str:
    return _text(block.get("text", ""), _align(block))


def _write_image(block: Mapping[str, str]) -> str:
    attrs = f'src="{attr(block.get("src", ""))}" alt="{attr(block.get("alt", ""))}"'
    if block.get("href"):
        attrs += f' href="{attr(block["href"])}"'
    width = block.get("width", "")
    if _DIGITS.match(width):
        attrs += f' width="{int(width)}px"'
    return f"      <mj-image {attrs} />\n"


def _write_button(block: Mapping[str, str]) -> str:
    color = _color(block.get("color", ""), "#2563eb")
    text_color = _color(block.get("text_color", ""), "#ffffff")
    return (
        f'      <mj-button href="{attr(block.get("href", ""))}" background-color="{color}"'
        f' color="{text_color}" align="{_align(block, "center")}">'
        f"{html.escape(block.get('label', ''), quote=True)}</mj-button>\n"
    )


def _color(value: str, default: str) -> str:
    return value if _COLOR.match(value) else default


def _write_divider(block: Mapping[str, str]) -> str:
    color = _color(block.get("color", ""), "#e5e7eb")
    return f'      <mj-divider border-color="{color}" border-width="1px" />\n'


def _write_spacer(block: Mapping[str, str]) -> str:
    height = block.get("height", "")
    pixels = min(max(int(height), 4), 200) if _DIGITS.match(height) else 24
    return f'      <mj-spacer height="{pixels}px" />\n'


def _link(href: str, label: str) -> str:
    return f'<a href="{attr(href)}">{html.escape(label, quote=True)}</a>'


def _write_social(block: Mapping[str, str]) -> str:
    # Text links, not MJML's icons: those load images from a third party's server.
    links = [_link(block[key], name) for key, name in SOCIAL_NAMES.items() if block.get(key)]
    if not links:
        return ""
    return f'      <mj-text align="center">{" · ".join(links)}</mj-text>\n'


def _write_footer(block: Mapping[str, str]) -> str:
    links = [_link("{unsubscribe_url}", block.get("unsubscribe_label", ""))]
    if block.get("preferences_label"):
        links.append(_link("{preferences_url}", block["preferences_label"]))
    text = text_html(block.get("text", ""))
    return (
        '      <mj-text align="center" font-size="12px" color="#6b7280">'
        f"{text}<p>{' · '.join(links)}</p></mj-text>\n"
    )


_WRITERS = {
    "text": _write_text,
    "image": _write_image,
    "button": _write_button,
    "divider": _write_divider,
    "spacer": _write_spacer,
    "social": _write_social,
    "footer": _write_footer,
}
