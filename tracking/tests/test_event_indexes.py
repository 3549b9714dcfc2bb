"""Every open and click writes an entry in each index of the event table: none may be there
for nothing. An index whose columns begin another index's serves no lookup the longer one
cannot (Django adds one per foreign key unless told not to)."""

from __future__ import annotations

import pytest
from django.db import connection

from tracking.models import Event

pytestmark = pytest.mark.django_db


def test_no_index_of_the_event_table_is_the_start_of_another():
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    indexes = {
        name: tuple(found["columns"])
        for name, found in constraints.items()
        if found["index"] and not found["unique"] and not found["primary_key"]
    }
    assert len(indexes) >= 5, indexes  # the introspection saw the table's indexes
    redundant = [
        (name, other)
        for name, columns in indexes.items()
        for other, longer in indexes.items()
        if other != name and len(longer) > len(columns) and longer[: len(columns)] == columns
    ]
    assert redundant == [], redundant
