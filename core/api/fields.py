"""Serializer fields shared by the API's resources."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from rest_framework import serializers


def related_ids(
    model: type[models.Model], relation: str, pks: Iterable[Any]
) -> dict[Any, list[Any]]:
    """The ids `relation` (a many-to-many field of `model`, or one pointing at it) holds for
    each of `pks`, ascending, read from the relation's own table in one query."""
    field = model._meta.get_field(relation)
    if isinstance(field, models.ManyToManyField):
        through = field.remote_field.through
        source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
    elif isinstance(field, models.ManyToManyRel):
        through = field.through
        source, target = field.field.m2m_reverse_field_name(), field.field.m2m_field_name()
    else:
        raise TypeError(f"{model.__name__}.{relation} is not a many-to-many relation")
    if through is None:  # Django makes one for every many-to-many field it has set up
        raise TypeError(f"{model.__name__}.{relation} has no table of pairs yet")
    pks = list(pks)
    held: dict[Any, list[Any]] = {pk: [] for pk in pks}
    rows = (
        through._default_manager.filter(**{f"{source}__in": pks})
        .order_by(target)
        .values_list(source, target)
    )
    for pk, target_pk in rows:
        held[pk].append(target_pk)
    return held


class RelatedIds(serializers.ListField):
    """The ids of a many-to-many relation, ascending, for every row shown at once.

    The first row shown reads the relation for every row of the page (the serializer's
    instances) in one query of its table of pairs. `prefetch_related` would build each related
    row and a manager and a queryset for each row: on `/api/recipients/` that cost more than
    reading the recipients themselves.
    """

    def __init__(self, relation: str, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.IntegerField())
        super().__init__(read_only=True, source="*", **kwargs)
        self.relation = relation

    def to_representation(self, data: Any) -> list[Any]:
        key = f"related ids: {type(data)._meta.label}.{self.relation}"
        held: dict[Any, list[Any]] | None = self.context.get(key)
        if held is None or data.pk not in held:
            held = related_ids(type(data), self.relation, self._shown_pks(data))
            self.context[key] = held
        return list(held[data.pk])

    def _shown_pks(self, data: Any) -> list[Any]:
        """The keys of every row the serializer shows, `data`'s among them."""
        shown = self.root.instance
        if isinstance(shown, Iterable) and not isinstance(shown, models.Model):
            pks = [row.pk for row in shown if isinstance(row, type(data))]
            if data.pk in pks:
                return pks
        return [data.pk]
