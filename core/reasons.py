"""Reasons the system gives (why a campaign paused, why a launch failed), told in the reader's
language.

A reason is stored twice: as English text, which the API, webhooks and logs carry as they
always have, and as its `detail` (the reason's code and values, a small JSON object), from
which a page or a notification says it again in the language of whoever reads it. A reason
stored before codes existed, or given as free text (a manager's own words), has no detail and
is shown as written.

Each app registers the reasons it gives (`register`, called at import of its reasons module,
which its AppConfig.ready imports) with a gettext_noop template whose `%(name)s` values the
detail holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import formats
from django.utils.translation import gettext

_TEMPLATES: dict[str, str] = {}


def register(code: str, template: str) -> str:
    """Make `code` known with its English `template` (marked with gettext_noop); returns code."""
    if _TEMPLATES.get(code, template) != template:
        raise ValueError(f"reason {code!r} is already registered with another text")
    _TEMPLATES[code] = template
    return code


@dataclass(frozen=True)
class Reason:
    """A registered reason with its values: `text` in English, `detail` to store beside it."""

    code: str
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return _TEMPLATES[self.code] % self.values

    @property
    def detail(self) -> dict[str, Any]:
        return {"code": self.code, "values": self.values}

    @property
    def shown(self) -> str:
        """The reason in the active language."""
        return shown(self.text, self.detail)


def reason(code: str, **values: Any) -> Reason:
    if code not in _TEMPLATES:
        raise KeyError(f"unknown reason {code!r}: register it first")
    return Reason(code, values)


def stored(given: str | Reason) -> tuple[str, dict[str, Any] | None]:
    """What to store of a reason given as free text or coded: its text, and its detail (None
    for free text, which is shown as written)."""
    if isinstance(given, Reason):
        return given.text, given.detail
    return given, None


def _local(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return formats.number_format(value, use_l10n=True)


def shown(text: str, detail: dict[str, Any] | None) -> str:
    """The reason in the active language; `text` as stored when there is no usable detail."""
    if not detail:
        return text
    template = _TEMPLATES.get(str(detail.get("code", "")))
    values = detail.get("values")
    if template is None or not isinstance(values, dict):
        return text
    try:
        return gettext(template) % {name: _local(value) for name, value in values.items()}
    except (KeyError, TypeError, ValueError):  # a catalog entry that lost a value's name
        return text
