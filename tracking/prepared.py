"""Statements run many times a second, prepared once per connection on PostgreSQL.

Django's PostgreSQL connections bind parameters on the client and never prepare (its default,
for connection poolers), so every execution of a statement is parsed and planned again; on
the partitioned event table planning costs more than running. These statements go through a
server-binding psycopg cursor with `prepare=True` instead: parsed and planned once per
connection, then run with their parameters (PostgreSQL prunes the event table's partitions
at execution, so a generic plan still reads only the months asked for: EXPLAIN says
"Subplans Removed"). The cursor is kept
with its connection: making one costs more than running a small statement.

On SQLite the statement runs through Django's cursor as usual.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

_cursors: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def execute(sql: str, params: Sequence[Any], *, fetch: bool = False) -> list[tuple[Any, ...]]:
    """Run `sql` (with %s marks) on this thread's connection; its rows when `fetch`."""
    # The wrapper looked up once: each attribute read through `django.db.connection` looks
    # the thread's connection up again, and this runs for every group of hits.
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        with db.cursor() as lite:
            lite.execute(sql, params)
            return list(lite.fetchall()) if fetch else []
    if db.connection is None:
        db.ensure_connection()
    raw = db.connection
    cursor: Any = _cursors.get(raw)
    if cursor is None:
        cursor = _cursors[raw] = _prepared_cursor(db, raw)
    started = time.monotonic()
    with db.wrap_database_errors:
        cursor.execute(sql, params, prepare=True)
        rows = cursor.fetchall() if fetch else []
    if db.queries_logged:  # counted like Django's own (DEBUG, assertNumQueries)
        db.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return rows


def _prepared_cursor(db: Any, raw: Any) -> Any:
    import psycopg
    from psycopg.types.datetime import TimestamptzLoader

    cursor = psycopg.Cursor(raw)
    # psycopg's own loader (its C version where psycopg-binary is installed) rather than
    # Django's Python subclass, which only swaps the UTC zone object for another: the same
    # instant, at a fraction of the cost for the times every group of hits reads.
    cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
    with db.wrap_database_errors:
        # Only prepared statements follow this: the generic plan, made once, prunes the
        # event table's months when it runs; a custom plan (what PostgreSQL keeps
        # choosing for them) plans every partition again at each execution.
        cursor.execute("SET plan_cache_mode = force_generic_plan")
    return cursor
