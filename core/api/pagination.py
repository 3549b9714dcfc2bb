"""Pagination: pages with a total where counting is cheap, cursors for the big tables."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination, PageNumberPagination


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
