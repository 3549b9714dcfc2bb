"""`in_index_order` prices sorting out for its block only, whatever the transaction around it."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from core.index_order import in_index_order

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the planner's settings are PostgreSQL's"
)


def enable_sort() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_sort")
        return str(cursor.fetchone()[0])


@postgresql_only
def test_sorting_is_off_inside_and_back_after_in_the_same_transaction():
    with transaction.atomic():
        with in_index_order():
            assert enable_sort() == "off"
        assert enable_sort() == "on"
    assert enable_sort() == "on"


@postgresql_only
def test_an_error_inside_leaves_the_setting_as_it_was():
    with transaction.atomic():
        seen = []

        def fail_inside() -> None:
            with in_index_order():
                seen.append(enable_sort())
                raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):
            fail_inside()
        assert seen == ["off"]
        assert enable_sort() == "on"


@postgresql_only
def test_a_setting_of_the_callers_own_is_kept():
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_sort = off")
        with in_index_order():
            pass
        assert enable_sort() == "off"


def test_elsewhere_the_block_runs_as_it_is():
    ran = []
    with in_index_order():
        ran.append(True)
    assert ran == [True]
