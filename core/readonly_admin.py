"""Read-only admin pages for the operator of an install.

Most of Postroom's rows are written by services that keep promises the admin knows nothing
of (the outbox, quotas, leases, the event cursors), so their admin pages only show. Secrets
are never shown: a model's admin lists them in `exclude`, and `ReadOnlyAdmin` refuses to
render a field named like one (`SECRET_FIELDS`), so a new secret column is hidden by default.
Tables that grow to millions of rows count nothing on their list pages: the paginator gives
PostgreSQL's estimate instead of a COUNT(*) over the whole table.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Model
from django.http import HttpRequest
from django.utils.functional import cached_property

SECRET_FIELDS = (
    "password", "secret", "previous_secret", "key_hash", "token_hash", "token", "session_key",
    "nonce",
)  # fmt: skip


class EstimatedCountPaginator(Paginator):  # type: ignore[type-arg]
    """Pages of a huge table without counting it: the planner's row estimate on PostgreSQL
    when the list is unfiltered, an exact count otherwise (a filter narrows it enough)."""

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if connection.vendor != "postgresql" or query is None or query.where:
            return super().count
        table = self.object_list.model._meta.db_table  # type: ignore[attr-defined]
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            row = cursor.fetchone()
        estimate = int(row[0]) if row else -1
        return estimate if estimate >= 0 else super().count


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Shows every field but secrets; adds, changes and deletes nothing."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_exclude(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        names = {field.name for field in self.model._meta.get_fields()}
        declared = list(super().get_exclude(request, obj) or ())
        return declared + [name for name in SECRET_FIELDS if name in names]

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:  # type: ignore[override]
        hidden = set(self.get_exclude(request, obj))
        return [
            field.name
            for field in self.model._meta.concrete_fields
            if field.name not in hidden and field.name != "id"
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return self.get_fields(request, obj)


class LargeTableAdmin(ReadOnlyAdmin):
    """For the tables of millions: estimated counts, and foreign keys read with the rows."""

    paginator = EstimatedCountPaginator
    list_per_page = 50
