"""Segments: a JSON definition of conditions compiled to one Django `Q`, never run in Python.

A definition is a group::

    {"match": "all" | "any", "conditions": [condition or group, ...]}

and a condition is ``{"field": F, "op": OP, "value": V}`` where F is a standard field
(`email`, `first_name`, …, `status`, `created_at`), ``list`` (list membership) or
``field:<key>`` for a custom field (its value inside the `fields` JSON). OP is one of OPERATORS.
The Q works on SQLite (JSON1) and PostgreSQL alike, so a segment count is one SQL query.

Engagement (``{"field": "engagement", "op": "opened_campaign", "value": <campaign id>}``, or
``opened_within`` with a number of days, see ENGAGEMENT) is an EXISTS over tracking's events
of the same workspace and address. Tracking sits above audience in the layers, so the
subquery comes from `audience.engagement`, which tracking answers at start-up: audience names
nothing of tracking. Machine opens and clicks (privacy proxies, link scanners) are left out; a
click counts as an open.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audience import engagement
from audience.models import ListMembership

TEXT_FIELDS = ("email", "first_name", "last_name", "company", "country", "city", "comment")
OPERATORS: dict[str, Any] = {
    "equals": _("equals"),
    "not_equals": _("does not equal"),
    "contains": _("contains"),
    "starts_with": _("starts with"),
    "is_empty": _("is empty"),
    "not_empty": _("is not empty"),
    "before": _("before / less than"),
    "after": _("after / greater than"),
    "in_list": _("is in list"),
    "not_in_list": _("is not in list"),
}
# Engagement operators: (what the event is, negated?, value is a campaign id or days).
ENGAGEMENT = {
    "opened_campaign": ("opened", False, "campaign"),
    "clicked_campaign": ("clicked", False, "campaign"),
    "not_opened_campaign": ("opened", True, "campaign"),
    "not_clicked_campaign": ("clicked", True, "campaign"),
    "opened_within": ("opened", False, "days"),
    "clicked_within": ("clicked", False, "days"),
    "not_opened_within": ("opened", True, "days"),
}
ENGAGEMENT_OPERATORS: dict[str, Any] = {
    "opened_campaign": _("opened campaign (id)"),
    "clicked_campaign": _("clicked in campaign (id)"),
    "not_opened_campaign": _("did not open campaign (id)"),
    "not_clicked_campaign": _("did not click in campaign (id)"),
    "opened_within": _("opened anything in the last N days"),
    "clicked_within": _("clicked anything in the last N days"),
    "not_opened_within": _("opened nothing in the last N days"),
}
OPERATORS.update(ENGAGEMENT_OPERATORS)
MAX_DAYS = 3660
MAX_DEPTH = 5
MAX_CONDITIONS = 100


class SegmentError(ValueError):
    """The definition cannot be compiled; the message says which part is wrong."""


def compile_definition(definition: Any, custom_types: dict[str, str]) -> Q:
    """Compile a definition to a Q over Recipient. `custom_types` maps custom keys to types.

    Raises SegmentError for an unknown field, operator, or a malformed group. An empty group
    matches everyone.
    """
    counter = [0]
    return _group(definition, custom_types, 0, counter)


def _group(group: Any, custom_types: dict[str, str], depth: int, counter: list[int]) -> Q:
    if not isinstance(group, dict):
        raise SegmentError(gettext("A group must be an object with 'match' and 'conditions'."))
    if depth > MAX_DEPTH:
        raise SegmentError(gettext("Groups may be nested at most %(n)s deep.") % {"n": MAX_DEPTH})
    match = group.get("match", "all")
    if match not in ("all", "any"):
        raise SegmentError(gettext("A group's 'match' must be 'all' or 'any'."))
    result = Q()
    for item in group.get("conditions") or []:
        counter[0] += 1
        if counter[0] > MAX_CONDITIONS:
            raise SegmentError(
                gettext("A segment may have at most %(n)s conditions.") % {"n": MAX_CONDITIONS}
            )
        if isinstance(item, dict) and "conditions" in item:
            part = _group(item, custom_types, depth + 1, counter)
        else:
            part = condition_q(item, custom_types)
        result = (result & part) if match == "all" else (result | part)
    return result


def condition_q(cond: Any, custom_types: dict[str, str]) -> Q:
    """One condition as a Q; raises SegmentError when the field or operator is unknown."""
    if not isinstance(cond, dict):
        raise SegmentError(gettext("A condition must be an object with 'field', 'op' and 'value'."))
    field, op, value = str(cond.get("field", "")), str(cond.get("op", "")), cond.get("value")
    if op not in OPERATORS:
        raise SegmentError(gettext("Unknown operator %(op)s.") % {"op": repr(op)})
    if field == "list" or op in ("in_list", "not_in_list"):
        return _list_q(op, value)
    if field == "engagement" or op in ENGAGEMENT:
        return _engagement_q(op, value)
    if field == "status":
        return _negatable(op, Q(status=str(value or "")), "status")
    if field == "created_at":
        return _compare("created_at", op, value)
    if field in TEXT_FIELDS:
        return _text(field, op, value)
    if field.startswith("field:") and field[6:] in custom_types:
        return _custom(field[6:], custom_types[field[6:]], op, value)
    raise SegmentError(gettext("Unknown field %(field)s.") % {"field": repr(field)})


def _list_q(op: str, value: Any) -> Q:
    try:
        list_id = int(value)
    except (TypeError, ValueError) as exc:
        raise SegmentError(gettext("Choose a list.")) from exc
    members = ListMembership.objects.filter(recipient_list_id=list_id).values("recipient_id")
    inside = Q(pk__in=members)
    return ~inside if op == "not_in_list" else inside


def _engagement_q(op: str, value: Any) -> Q:
    if op not in ENGAGEMENT:
        raise SegmentError(gettext("Engagement needs an operator such as 'opened campaign'."))
    kind, negated, about = ENGAGEMENT[op]
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise SegmentError(
            gettext("Give the campaign's id.")
            if about == "campaign"
            else gettext("Give a number of days.")
        ) from exc
    if number < 1 or (about == "days" and number > MAX_DAYS):
        raise SegmentError(gettext("%(value)s is out of range.") % {"value": repr(value)})
    kinds = ("opened", "clicked") if kind == "opened" else ("clicked",)
    if about == "campaign":
        events = engagement.events_exist(kinds, campaign_id=number)
    else:
        events = engagement.events_exist(kinds, since=timezone.now() - timedelta(days=number))
    found = Q(events)
    return ~found if negated else found


def _negatable(op: str, q: Q, field: str) -> Q:
    if op == "equals":
        return q
    if op == "not_equals":
        return ~q
    raise SegmentError(
        gettext("%(field)s supports only 'equals' and 'does not equal'.") % {"field": field}
    )


def _text(path: str, op: str, value: Any) -> Q:
    text = "" if value is None else str(value)
    lookups = {"equals": "iexact", "contains": "icontains", "starts_with": "istartswith"}
    if op in lookups:
        return Q(**{f"{path}__{lookups[op]}": text})
    if op == "not_equals":
        return ~Q(**{f"{path}__iexact": text})
    if op == "is_empty":
        return Q(**{path: ""})
    if op == "not_empty":
        return ~Q(**{path: ""})
    if op in ("before", "after"):
        return _compare(path, op, text)
    raise SegmentError(
        gettext("Operator %(op)s does not apply to %(field)s.") % {"op": repr(op), "field": path}
    )


def _compare(path: str, op: str, value: Any) -> Q:
    if op not in ("before", "after"):
        raise SegmentError(
            gettext("%(field)s supports only 'before' and 'after'.") % {"field": path}
        )
    if value in (None, ""):
        raise SegmentError(gettext("Before/after needs a value."))
    return Q(**{f"{path}__{'lt' if op == 'before' else 'gt'}": value})


def _custom(key: str, kind: str, op: str, value: Any) -> Q:
    path = f"fields__{key}"
    if op == "is_empty":
        return Q(**{f"{path}__isnull": True}) | Q(**{path: ""})
    if op == "not_empty":
        return ~(Q(**{f"{path}__isnull": True}) | Q(**{path: ""}))
    if kind == "number" and op in ("equals", "not_equals", "before", "after"):
        number = _number(value)
        if op in ("equals", "not_equals"):
            return _negatable(op, Q(**{path: number}), key)
        return Q(**{f"{path}__{'lt' if op == 'before' else 'gt'}": number})
    if kind == "boolean" and op in ("equals", "not_equals"):
        flag = str(value).strip().lower() in ("1", "true", "yes", "y", "on")
        return _negatable(op, Q(**{path: flag}), key)
    return _text(path, op, value)


def _number(value: Any) -> float | int:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise SegmentError(gettext("%(value)s is not a number.") % {"value": repr(value)}) from exc
    if not math.isfinite(number):  # JSON has no infinity or NaN: the database refuses them
        raise SegmentError(gettext("%(value)s is not a number.") % {"value": repr(value)})
    return int(number) if number.is_integer() else number
