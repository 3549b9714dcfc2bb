"""Rows written as DRF writes them, without DRF's cost per field of every row.

A list of 1,000 recipients spent more time in `Serializer.to_representation` than in reading
them: for each field of each row DRF walks the field's source, asks whether the value is
callable, and a date-time field looks up the current time zone (an asgiref local) again.
`QuickRows` decides those once per serializer, for all its rows: a column of the model is
read with `getattr`, a date-time field is written with the time zone read once. Any other
field (a method field, a dotted source, a related serializer) goes DRF's own way.
`core/tests/test_representation.py` holds the output equal to DRF's.
"""

from __future__ import annotations

import datetime
import inspect
from collections.abc import Callable
from typing import Any, cast

from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

# Fields whose to_representation only converts the value: read it straight off the model.
_PLAIN = {
    serializers.CharField,
    serializers.EmailField,
    serializers.IntegerField,
    serializers.BooleanField,
    serializers.ChoiceField,
    serializers.JSONField,
    serializers.DateTimeField,
}
# Their conversions where a builtin is DRF's whole method; the others keep the field's own
# (cheap) one, date-times `_datetime_writer`.
_CONVERTERS: dict[type[Any], Callable[[Any], Any]] = {
    serializers.CharField: str,
    serializers.EmailField: str,
    serializers.IntegerField: int,
}

# One field's step: its name, the model attribute to read (None: DRF's way) and the converter.
Step = tuple[str, str | None, Callable[[Any], Any], serializers.Field[Any, Any, Any, Any]]


def _datetime_writer(field: serializers.DateTimeField) -> Callable[[Any], Any]:
    """`field.to_representation`, with the time zone decided once."""
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if output_format is None or output_format.lower() != ISO_8601:
        return field.to_representation
    zone = cast(
        "datetime.tzinfo | None",
        field.timezone if hasattr(field, "timezone") else field.default_timezone(),
    )
    if zone is None:
        return field.to_representation

    def write(value: Any) -> Any:
        if not isinstance(value, datetime.datetime) or not timezone.is_aware(value):
            return field.to_representation(value)
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return write


def _plain_attribute(
    model: type[models.Model], field: serializers.Field[Any, Any, Any, Any]
) -> str | None:
    """The model attribute `field` reads, when reading it is all DRF would do."""
    if type(field) not in _PLAIN or len(field.source_attrs) != 1:
        return None
    if field.default is not serializers.empty or (not field.required and not field.read_only):
        return None  # DRF may skip or default a missing value
    name = field.source_attrs[0]
    # A column of the model: anything else (a method DRF would call, a property, a value
    # annotated per row) goes DRF's way.
    if not isinstance(inspect.getattr_static(model, name, None), DeferredAttribute):
        return None
    return name


def _steps(serializer: serializers.Serializer[Any], model: type[models.Model]) -> list[Step]:
    steps: list[Step] = []
    for field in serializer._readable_fields:
        name = cast(str, field.field_name)  # bound fields have their name
        attribute = _plain_attribute(model, field)
        if attribute is None:
            steps.append((name, None, field.to_representation, field))
            continue
        if isinstance(field, serializers.DateTimeField):
            convert = _datetime_writer(field)
        else:
            convert = _CONVERTERS.get(type(field), field.to_representation)
        steps.append((name, attribute, convert, field))
    return steps


class QuickRows:
    """Mix into a read-only ModelSerializer, before it: same output, less work per row."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        model = type(instance)
        cached: tuple[type[models.Model], list[Step]] | None = self.__dict__.get("_quick_steps")
        if cached is None or cached[0] is not model:
            cached = (model, _steps(self, model))  # type: ignore[arg-type]
            self.__dict__["_quick_steps"] = cached
        row: dict[str, Any] = {}
        for name, attribute, convert, field in cached[1]:
            if attribute is not None:
                value = getattr(instance, attribute)
                row[name] = None if value is None else convert(value)
                continue
            try:
                value = field.get_attribute(instance)
            except SkipField:
                continue
            empty = value.pk if isinstance(value, PKOnlyObject) else value
            row[name] = None if empty is None else convert(value)
        return row
