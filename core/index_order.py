"""Reading a LIMITed page in an index's order whatever the planner believes about the table.

A plan is chosen from the statistics. When they say a table (a month's partition of attempts
being filled, say) holds a few rows, sorting "a few rows" looks cheaper than walking an index
in order, and a page of 50 reads and sorts every row that matches: all 50,000 attempts of a
campaign, 140 to 220 ms a page under load. With sorting priced out, the plan walks the index
(a Merge Append of each partition's index on a partitioned table) and stops after the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def in_index_order() -> Iterator[None]:
    """Plan the statements inside without a Sort wherever an index gives the order.

    Only for reads an index can serve in order: a statement that needs a sort still gets one,
    at a price that makes the planner prefer any ordered path, however slow. The setting lasts
    for the block: restored on the way out, undone with the savepoint on an error.
    No-op outside PostgreSQL (SQLite plans from its indexes, not from statistics).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('enable_sort')")
            row = cursor.fetchone()
            cursor.execute("SELECT set_config('enable_sort', 'off', true)")
        yield
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('enable_sort', %s, true)", [row[0] if row else "on"])
