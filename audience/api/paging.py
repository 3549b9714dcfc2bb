"""Keyset pages of recipients: `?cursor=…&page_size=…&ordering=-created_at`.

The recipients table holds millions of rows, so pages never COUNT and never OFFSET: each page
continues after the (sort value, id) of the last row, as the UI's table does
(`selectors.recipients_page`). This stays exact when thousands of rows share one created_at,
as rows written by one import or one bulk call do.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

from audience import selectors
from core.api.pagination import KeysetPagination

# Every indexed column the table sorts by (selectors.SORTABLE); any other ordering is a 400.
ORDERINGS = {name: name for name in selectors.SORTABLE}
ALIASES = {"created": "created_at", "updated": "updated_at"}

ORDERING_PARAMETER = OpenApiParameter(
    "ordering",
    str,
    enum=[*ORDERINGS, *(f"-{o}" for o in ORDERINGS)],
    description="Sort key; a leading '-' sorts descending. Default: email.",
)


def ordering_of(request: Request) -> tuple[str, bool]:
    """(column, descending) from `ordering`; a 400 for anything else."""
    raw = request.query_params.get("ordering", "").strip() or "email"
    descending = raw.startswith("-")
    name = raw.lstrip("-")
    column = ORDERINGS.get(ALIASES.get(name, name))
    if column is None:
        raise serializers.ValidationError(
            {
                "ordering": [
                    _("Order by one of %(names)s (with '-' to reverse).")
                    % {"names": ", ".join(ORDERINGS)}
                ]
            }
        )
    return column, descending


class RecipientKeysetPagination(KeysetPagination):
    """Sorted by `ordering` (any indexed column, either way), not newest first alone."""

    def page_of(self, queryset: QuerySet[Any, Any], request: Request, size: int) -> Any:
        sort, descending = ordering_of(request)
        return selectors.recipients_page(
            queryset,
            sort=sort,
            descending=descending,
            cursor=request.query_params.get("cursor", ""),
            size=size,
        )
