"""Building and dropping a model's index from a migration without blocking writes.

On PostgreSQL the index is built and dropped CONCURRENTLY: a plain build locks the table
against writes (imports, sending, blocks) for as long as it takes. Such a migration must not
be atomic (`atomic = False`). SQLite builds and drops it as Django does. The index is the
`models.Index` the migration's state gives the model, so that it is written once.
"""

from __future__ import annotations

from typing import Any

from django.db import models


def build_index(schema_editor: Any, model: type[models.Model], index: models.Index) -> None:
    """Build `index` on `model`'s table, unless a valid one of its name is there."""
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_index(model, index)
        return
    build_postgres_index(
        schema_editor, index.name, str(index.create_sql(model, schema_editor, concurrently=True))
    )


def build_postgres_index(schema_editor: Any, name: str, create: str) -> None:
    """Run `create` (a CREATE INDEX CONCURRENTLY of the index `name`, for what a
    `models.Index` cannot say, such as an operator class on an expression), unless a valid
    index of that name is there. PostgreSQL only."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name])
        found = cursor.fetchone()
    if found is not None and found[0]:
        return  # built already
    if found is not None:  # an interrupted CONCURRENTLY build left it invalid: built again
        schema_editor.execute(f"DROP INDEX CONCURRENTLY {name}")
    schema_editor.execute(create)


def drop_index(schema_editor: Any, model: type[models.Model], index: models.Index) -> None:
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_index(model, index)
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index.name}")
