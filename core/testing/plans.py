"""What a statement's plan reads (PostgreSQL's EXPLAIN ANALYZE), for tests that a query stays
linear whatever the planner believes about the tables.

A plan is chosen from the statistics in `pg_class` and `pg_statistic`. A table analysed while
it held only dead rows (a rolled-back transaction's, a deleted campaign's) says "some pages,
no rows", and from then on the planner estimates one row, however many it holds, until the
next ANALYZE: a nested loop it then picks may read the table once for each of its rows.
`believe_empty` puts a table in that state for the current transaction; `rows_read` counts
what a statement really read from a table under it, and `reads_recorded` what the statements
a piece of code runs read, as they ran.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet


def can_believe_empty() -> bool:
    """Whether this session may change the planner's statistics (a superuser's right)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


def believe_empty(*tables: str) -> None:
    """Make the planner think `tables` hold no rows (pages, but zero tuples), as after an
    ANALYZE of dead rows. Transactional: the test's rollback restores the statistics."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                "UPDATE pg_class SET relpages = 100, reltuples = 0 WHERE oid = %s::regclass",
                [table],
            )


def rows_read(sql: str, table: str, params: Sequence[Any] | None = None) -> int:
    """Rows the plan of `sql` took from `table`, kept or filtered out, over all its loops.
    The statement runs in a savepoint that is rolled back."""
    savepoint = transaction.savepoint()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
            row = cursor.fetchone()
    finally:
        transaction.savepoint_rollback(savepoint)
    if row is None:
        raise RuntimeError("EXPLAIN returned nothing")
    plan = row[0]
    return _read(plan[0]["Plan"], table)


def page_rows_read(qs: QuerySet[Any], table: str) -> int:
    """Rows a page (an ordered, LIMITed queryset) takes from `table` once reading the whole
    table and sorting it are priced out for the rest of the test's transaction: a test's
    small table is read whole and sorted whatever its indexes, so this asks what the page
    costs where the table is large. One index that gives the order reads about a page."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    return rows_read(sql, table, params)


@contextmanager
def reads_recorded(*tables: str) -> Iterator[list[int]]:
    """For each SELECT run inside that names one of `tables`, the rows its plan took from
    them. Each is explained (and run) just before it runs, in the session's state of that
    moment, so a setting the code changed for it counts as it did for the statement."""
    reads: list[int] = []

    def explain_first(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if (
            not many
            and sql.lstrip().upper().startswith("SELECT")
            and any(table in sql for table in tables)
        ):
            cursor = context["cursor"]
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
            reads.append(sum(_read(plan[0]["Plan"], table) for table in tables))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain_first):
        yield reads


def _read(node: dict[str, Any], table: str) -> int:
    own = 0
    if node.get("Relation Name") == table:
        per_loop = (
            node.get("Actual Rows", 0)
            + node.get("Rows Removed by Filter", 0)
            + node.get("Rows Removed by Index Recheck", 0)
        )
        own = round(per_loop * node.get("Actual Loops", 1))
    return own + sum(_read(child, table) for child in node.get("Plans", ()))
