"""The API's list filters as django-filter FilterSets, so that drf-spectacular documents them.

API clients depend on the parameters as they were before django-filter read them: the same
names, formats and refusals (a 400 naming the parameter, code "invalid", with our words). So
each filter here reads its parameter as the raw text of the query string and turns it into a
value with a small `parse` function that raises `ValueError` with the refusal's words, and
carries its own OpenAPI schema. The view's queryset is already the caller's workspace's
(`WorkspaceScoped`): filters only narrow it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.drainage import set_override

from core.api.params import MAX_ID, parse_moment
from core.digits import is_number

Parse = Callable[[str, tzinfo], Any]


class QueryValueField(forms.Field):
    """A query parameter's text (stripped unless `strip` is off), read by `parse`. An absent
    parameter is None, and so is an empty one unless `keep_empty` (then `parse` judges it).
    `zone` is the workspace's time zone, for dates."""

    def __init__(
        self,
        *,
        parse: Parse,
        strip: bool = True,
        keep_empty: bool = False,
        zone: tzinfo = UTC,
        **kwargs: Any,
    ) -> None:
        self.parse, self.strip, self.keep_empty, self.zone = parse, strip, keep_empty, zone
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        if value is None:
            return None
        raw = str(value).strip() if self.strip else str(value)
        if not raw and not self.keep_empty:
            return None
        try:
            return self.parse(raw, self.zone)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from exc


class QueryFilter(django_filters.Filter):  # type: ignore[misc]
    """One query parameter: read by `parse`, applied as `field_name__lookup_expr=value` (or by
    `method`), documented by `schema` (an OpenAPI schema, with its description)."""

    field_class = QueryValueField

    def __init__(
        self,
        field_name: str | None = None,
        lookup_expr: str = "exact",
        *,
        parse: Parse,
        schema: dict[str, Any],
        strip: bool = True,
        keep_empty: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            field_name, lookup_expr, parse=parse, strip=strip, keep_empty=keep_empty, **kwargs
        )
        set_override(self, "field", schema)


class AlwaysFilter(QueryFilter):
    """A filter applied even when its parameter is absent (`apply` gets None then): a default
    ordering, or a flag whose absence means "no"."""

    def __init__(
        self, *, apply: Callable[[QuerySet[Any], Any], QuerySet[Any]], **kwargs: Any
    ) -> None:
        self.apply = apply
        super().__init__(**kwargs)

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        return self.apply(qs, value)


class WorkspaceFilterSet(django_filters.FilterSet):  # type: ignore[misc]
    """A FilterSet whose dates are read in the workspace's time zone (`zone`), and whose
    filters may look rows up through the workspace's indexes (`workspace`)."""

    def __init__(
        self, *args: Any, zone: tzinfo = UTC, workspace: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace  # for a filter that looks rows up by the workspace's indexes
        for each in self.filters.values():
            if isinstance(each, QueryFilter):
                each.extra["zone"] = zone


class ListFilterBackend(DjangoFilterBackend):  # type: ignore[misc]
    """django-filter on the list action only (a query string never narrows one object's URL,
    as before), with the workspace's time zone for dates."""

    def filter_queryset(self, request: Any, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        if getattr(view, "action", "list") != "list":
            return queryset
        return super().filter_queryset(request, queryset, view)  # type: ignore[no-any-return]

    def get_filterset_kwargs(self, request: Any, queryset: QuerySet[Any], view: Any) -> Any:
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        workspace = getattr(view, "workspace", None)
        return {**kwargs, "zone": getattr(workspace, "zone", UTC), "workspace": workspace}


# --------------------------------------------------------------------------- readers


def text(raw: str, zone: tzinfo) -> str:
    return raw


def whole_id(message: str) -> Parse:
    """An object id: ASCII digits the database can hold."""

    def parse(raw: str, zone: tzinfo) -> int:
        if not is_number(raw) or int(raw) > MAX_ID:
            raise ValueError(message)
        return int(raw)

    return parse


def one_of(choices: Sequence[str], message: str) -> Parse:
    """One of `choices`; `message` may name them with {choices} (comma separated)."""

    def parse(raw: str, zone: tzinfo) -> str:
        if raw not in choices:
            raise ValueError(message.format(choices=", ".join(choices)))
        return raw

    return parse


def moment(message: str) -> Parse:
    """An ISO date-time, or a date (its midnight in the workspace's zone), in UTC."""

    def parse(raw: str, zone: tzinfo) -> datetime:
        found = parse_moment(raw, zone)
        if found is None:
            raise ValueError(message)
        return found

    return parse


# --------------------------------------------------------------------------- schemas


def string_schema(description: str = "", enum: Sequence[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if enum is not None:
        schema["enum"] = list(enum)
    if description:
        schema["description"] = description
    return schema


def integer_schema(description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    if description:
        schema["description"] = description
    return schema


def boolean_schema(description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "boolean"}
    if description:
        schema["description"] = description
    return schema
