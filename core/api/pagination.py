"""Pagination: pages with a total where counting is cheap, cursors for the big tables."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.pagination import BasePagination, CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.digits import is_number
from core.keyset import KeysetPage, keyset_page


class PagePagination(PageNumberPagination):
    """`?page=2&page_size=100`, with `count`; for resources whose count is cheap."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class LargeCursorPagination(CursorPagination):
    """`?cursor=…`: constant time on millions of rows, no COUNT(*)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = "-id"


class KeysetPagination(BasePagination):
    """`?cursor=…&page_size=…`, newest first by (`key`, id), answered as
    `{"next", "first", "results"}`: constant time at any depth on tables that grow without
    bound (see core.keyset), and exact where thousands of rows share a timestamp, which
    DRF's CursorPagination pages through by OFFSET. The view's table needs an index ending
    with (`key`, id)."""

    key = "created_at"
    default_size, max_size = 100, 1000

    def paginate_queryset(
        self, queryset: QuerySet[Any, Any], request: Request, view: Any = None
    ) -> list[Any] | None:
        return self.paged(request, self.page_of(queryset, request, self.size(request)))

    def page_of(self, queryset: QuerySet[Any, Any], request: Request, size: int) -> KeysetPage[Any]:
        return keyset_page(
            queryset, key=self.key, cursor=request.query_params.get("cursor", ""), size=size
        )

    def paged(self, request: Request, page: KeysetPage[Any]) -> list[Any]:
        url = request.build_absolute_uri()
        self.next = (
            replace_query_param(url, "cursor", page.next_cursor) if page.next_cursor else None
        )
        self.first = remove_query_param(url, "cursor")
        return page.rows

    def size(self, request: Request) -> int:
        raw = request.query_params.get("page_size", "")
        if not raw:
            return self.default_size
        if not is_number(raw) or not 1 <= int(raw) <= self.max_size:
            raise serializers.ValidationError(
                {
                    "page_size": [
                        _("Give a whole number from 1 to %(most)s.") % {"most": self.max_size}
                    ]
                }
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
                "description": (
                    f"Rows per page, 1 to {self.max_size} (default {self.default_size})."
                ),
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_size},
            },
        ]
