"""The recipients' query parameters, shared by the list and the CSV export.

`status`, `list_id`, `segment_id`, `q` (e-mail, names, company), `created_after`,
`created_before`, `updated_after`, `updated_before`, and `field.<key>=<value>` for equality
on a custom field (compared as the field's type: `field.age=42` matches the number 42).
A bad value is a 400 in the API's error shape.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from accounts.models import Workspace
from audience import selectors
from audience.api.common import query_int, query_moment, query_text
from audience.models import Recipient, RecipientStatus
from audience.segments import SegmentError

FIELD_PREFIX = "field."
RANGES = {
    "created_after": "created_at__gte",
    "created_before": "created_at__lt",
    "updated_after": "updated_at__gte",
    "updated_before": "updated_at__lt",
}

PARAMETERS = [
    OpenApiParameter("q", str, description="Part of the e-mail, first or last name, company"),
    OpenApiParameter("status", str, enum=RecipientStatus.values),
    OpenApiParameter("list_id", int, description="Members of this list"),
    OpenApiParameter("segment_id", int, description="Recipients this segment selects"),
    *(
        OpenApiParameter(name, OpenApiTypes.DATETIME, description="From (inclusive) / before")
        for name in RANGES
    ),
]
FIELD_HELP = (
    " Filter on a custom field with `field.<key>=<value>` (equality, compared as the "
    "field's type; several combine with AND)."
)


def recipients_for_query(workspace: Workspace, params: Any) -> QuerySet[Recipient]:
    """The workspace's recipients that pass every given parameter; ValidationError (400)."""
    errors: dict[str, list[str]] = {}
    status = params.get("status", "").strip()
    if status and status not in RecipientStatus.values:
        errors["status"] = [f"Use one of {', '.join(RecipientStatus.values)}."]
    flt = selectors.RecipientFilter(
        q=query_text(params, "q", errors),
        status=status,
        list_id=query_int(params, "list_id", errors),
        segment_id=query_int(params, "segment_id", errors),
    )
    ranges = {lookup: query_moment(params, name, errors) for name, lookup in RANGES.items()}
    conditions = [
        (name, {"field": f"field:{name[len(FIELD_PREFIX) :]}", "op": "equals", "value": value})
        for name in params
        if name.startswith(FIELD_PREFIX) and (value := query_text(params, name, errors))
    ]
    if errors:
        raise serializers.ValidationError(errors)
    try:
        qs = selectors.recipients_matching(workspace, flt)
    except SegmentError as exc:
        raise serializers.ValidationError({"segment_id": [str(exc)]}) from exc
    qs = qs.filter(**{lookup: moment for lookup, moment in ranges.items() if moment})
    for name, condition in conditions:
        try:
            q = selectors.segment_q(workspace, {"match": "all", "conditions": [condition]})
        except SegmentError as exc:
            errors[name] = [str(exc)]
            continue
        qs = qs.filter(q)
    if errors:
        raise serializers.ValidationError(errors)
    return qs
