"""Building and dropping indexes on big tables from a migration without blocking writes.

On PostgreSQL an index is built and dropped CONCURRENTLY: a plain build locks the table
against writes (imports, sending, blocks) for as long as it takes. Such a migration must not
be atomic (`atomic = False`). SQLite builds and drops them plainly.
"""

from __future__ import annotations

from typing import Any


def build_index(schema_editor: Any, table: str, name: str, definition: str) -> None:
    """CREATE INDEX `name` ON `table` `definition` ("(col, …)" or "USING gin (…)"), unless a
    valid one exists."""
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {definition}")
        return
    with schema_editor.connection.cursor() as cursor:
        # An interrupted CONCURRENTLY build leaves an invalid index that IF NOT EXISTS keeps.
        cursor.execute(
            "SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(%s) AND NOT indisvalid",
            [name],
        )
        if cursor.fetchone():
            schema_editor.execute(f"DROP INDEX CONCURRENTLY {name}")
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} {definition}")


def drop_index(schema_editor: Any, name: str) -> None:
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {name}")
