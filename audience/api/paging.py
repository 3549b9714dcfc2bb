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
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from audience import selectors
from core.digits import is_number

# Every indexed column the table sorts by (selectors.SORTABLE); any other ordering is a 400.
ORDERINGS = {name: name for name in selectors.SORTABLE}
ALIASES = {"created": "created_at", "updated": "updated_at"}
DEFAULT_SIZE, MAX_SIZE = 100, 1000

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


class RecipientKeysetPagination(BasePagination):
    def paginate_queryset(
        self, queryset: QuerySet[Any, Any], request: Request, view: Any = None
    ) -> list[Any] | None:
        sort, descending = ordering_of(request)
        size = self._size(request)
        page = selectors.recipients_page(
            queryset,
            sort=sort,
            descending=descending,
            cursor=request.query_params.get("cursor", ""),
            size=size,
        )
        url = request.build_absolute_uri()
        self.next = (
            replace_query_param(url, "cursor", page.next_cursor) if page.next_cursor else None
        )
        self.first = remove_query_param(url, "cursor")
        return page.rows

    @staticmethod
    def _size(request: Request) -> int:
        raw = request.query_params.get("page_size", "")
        if not raw:
            return DEFAULT_SIZE
        if not is_number(raw) or not 1 <= int(raw) <= MAX_SIZE:
            raise serializers.ValidationError(
                {"page_size": [_("Give a whole number from 1 to %(most)s.") % {"most": MAX_SIZE}]}
            )
        return int(raw)

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.next, "first": self.first, "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "first": {"type": "string", "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "The value from the previous page's `next` link.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": f"Rows per page, 1 to {MAX_SIZE} (default {DEFAULT_SIZE}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_SIZE},
            },
        ]
