"""Building and dropping a model's index from a migration without blocking writes.

On PostgreSQL the index is built and dropped CONCURRENTLY: a plain build locks the table
against writes (imports, sending, blocks) for as long as it takes. Such a migration must not
be atomic (`atomic = False`). SQLite builds and drops it as Django does. The index is the
`models.Index` the migration's state gives the model, so that it is written once.

A partitioned table (the attempts, the events: core.partitions) cannot be indexed
CONCURRENTLY in one statement, and a plain CREATE INDEX on it locks every month against the
engine's writes. Its index is made as PostgreSQL's manual describes: on the parent alone
(`ON ONLY`, empty and invalid), then CONCURRENTLY on each partition, each attached to it; the
last attachment makes the parent's index valid. A partition made meanwhile (the hourly
housekeeping) gets its own index from the parent at once.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import models
from django.db.backends.utils import truncate_name

# PostgreSQL's longest identifier.
MAX_NAME = 63
# An index's validity: none (no such index), false (a build cut short) or true.
_VALIDITY = "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)"


def build_index(schema_editor: Any, model: type[models.Model], index: models.Index) -> None:
    """Build `index` on `model`'s table, unless a valid one of its name is there."""
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_index(model, index)
        return
    table = model._meta.db_table
    partitions = _partitions(schema_editor, table)
    if partitions is None:
        build_postgres_index(
            schema_editor,
            index.name,
            str(index.create_sql(model, schema_editor, concurrently=True)),
        )
        return
    if not _index_valid(schema_editor, index.name):
        parent = index.create_sql(model, schema_editor)
        _set_parts(parent, table=f"ONLY {schema_editor.quote_name(table)}")
        schema_editor.execute(str(parent).replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
    for partition in partitions:
        if _attached(schema_editor, index.name, partition):
            continue
        name = truncate_name(f"{partition}_{index.name}", MAX_NAME)
        child = index.create_sql(model, schema_editor, concurrently=True)
        _set_parts(
            child, table=schema_editor.quote_name(partition), name=schema_editor.quote_name(name)
        )
        build_postgres_index(schema_editor, name, str(child))
        schema_editor.execute(
            f"ALTER INDEX {schema_editor.quote_name(index.name)}"
            f" ATTACH PARTITION {schema_editor.quote_name(name)}"
        )


def replace_index(
    schema_editor: Any, model: type[models.Model], old: models.Index, new: models.Index
) -> None:
    """Put `new` in the place of `old`, which may have the same name. On PostgreSQL `new` is
    built first under a name of its own, so that the table never lacks both; a run
    interrupted at any step and run again ends the same way."""
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_index(model, old)
        schema_editor.add_index(model, new)
        return
    if old.name != new.name:
        build_index(schema_editor, model, new)
        drop_index(schema_editor, model, old)
        return
    # The temporary name depends on the definition, so that replacing back (the migration
    # reversed) never meets the names the other way's partitions' indexes still hold.
    definition = str(new.create_sql(model, schema_editor)).encode()
    temporary = new.clone()
    temporary.name = truncate_name(
        f"{new.name}_{hashlib.sha256(definition).hexdigest()[:6]}", MAX_NAME
    )
    build_index(schema_editor, model, temporary)
    drop_index(schema_editor, model, old)
    schema_editor.execute(
        f"ALTER INDEX {schema_editor.quote_name(temporary.name)}"
        f" RENAME TO {schema_editor.quote_name(new.name)}"
    )


def build_postgres_index(schema_editor: Any, name: str, create: str) -> None:
    """Run `create` (a CREATE INDEX CONCURRENTLY of the index `name`, for what a
    `models.Index` cannot say, such as an operator class on an expression), unless a valid
    index of that name is there. PostgreSQL only."""
    found = _fetch(schema_editor, _VALIDITY, name)
    if found is not None and found[0]:
        return  # built already
    if found is not None:  # an interrupted CONCURRENTLY build left it invalid: built again
        schema_editor.execute(f"DROP INDEX CONCURRENTLY {name}")
    schema_editor.execute(create)


def drop_index(schema_editor: Any, model: type[models.Model], index: models.Index) -> None:
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_index(model, index)
        return
    # A partitioned index cannot be dropped CONCURRENTLY; dropping it takes a moment's lock.
    partitioned = _partitions(schema_editor, model._meta.db_table) is not None
    concurrently = "" if partitioned else "CONCURRENTLY "
    schema_editor.execute(
        f"DROP INDEX {concurrently}IF EXISTS {schema_editor.quote_name(index.name)}"
    )


def _set_parts(statement: Any, **parts: str) -> None:
    """Put text in the place of parts of a Django DDL `Statement` (its table, its name)."""
    statement.parts.update(parts)


def _fetch(schema_editor: Any, sql: str, *params: str) -> tuple[Any, ...] | None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


def _index_valid(schema_editor: Any, name: str) -> bool:
    found = _fetch(schema_editor, _VALIDITY, name)
    return found is not None and bool(found[0])


def _partitions(schema_editor: Any, table: str) -> list[str] | None:
    """The partitions of `table`, or None when it is not partitioned."""
    kind = _fetch(schema_editor, "SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", table)
    if kind is None or kind[0] != "p":
        return None
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname",
            [table],
        )
        return [row[0] for row in cursor.fetchall()]


def _attached(schema_editor: Any, index: str, partition: str) -> bool:
    """Whether the partitioned index `index` has the index of `partition` attached."""
    found = _fetch(
        schema_editor,
        "SELECT 1 FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid"
        " WHERE i.inhparent = to_regclass(%s) AND x.indrelid = to_regclass(%s)",
        index,
        partition,
    )
    return found is not None
