"""The migrations index the tables that grow with every message (the deliveries, the attempts
and the events, the last two partitioned by month) without locking the engine out.

A plain CREATE INDEX holds the table (on a partitioned one, every partition) against writes
for as long as it reads every row: 11 s at 10,000,000 attempts, measured, with every attempt
the engine records waiting. core.index_builds builds them CONCURRENTLY, partition by
partition. PostgreSQL only: SQLite builds as Django does, and has no partitions."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, models

from campaigns.models import Attempt
from core.index_builds import build_index, drop_index, replace_index
from core.testing.migrations import migrate, migrate_to_latest

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's"),
]

# The migrations that partitioned the attempts and the events: every index after them is built
# online.
PARTITIONED = [("campaigns", "0020_attempt_partitions"), ("tracking", "0003_event_partitions")]
TABLES = ("campaigns_delivery", "campaigns_attempt", "tracking_event")


def index_builds_on_partitioned_tables(statements: list[str]) -> list[str]:
    """The statements that build an index of one of TABLES in one locking statement (`ON ONLY`
    a partitioned table's parent is instant: its partitions' indexes are built apart)."""
    table = "|".join(TABLES)
    plain = re.compile(
        rf'CREATE (UNIQUE )?INDEX (?!CONCURRENTLY).*? ON (?!ONLY )"?({table})"? ', re.S
    )
    added = re.compile(rf'ALTER TABLE "?({table})"? ADD CONSTRAINT .* (UNIQUE|PRIMARY KEY)', re.S)
    return [s for s in statements if plain.search(s) or added.search(s)]


@pytest.mark.usefixtures("every_migration_after")
def test_no_migration_locks_a_partitioned_table_to_build_an_index():
    migrate(PARTITIONED)
    statements: list[str] = []

    def record(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        statements.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(record):
        migrate_to_latest()
    assert index_builds_on_partitioned_tables(statements) == []
    assert any("ATTACH PARTITION" in s for s in statements)  # they were built here, online


def attempt_partitions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'campaigns_attempt'::regclass"
        )
        return [name for (name,) in cursor.fetchall()]


def attached_partitions(index: str) -> list[str]:
    """The partitions whose own index is attached to the partitioned index `index`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid"
            " JOIN pg_class c ON c.oid = x.indrelid WHERE i.inhparent = to_regclass(%s)"
            " ORDER BY c.relname",
            [index],
        )
        return [name for (name,) in cursor.fetchall()]


def valid(index: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [index]
        )
        row = cursor.fetchone()
    return row is not None and bool(row[0])


def test_a_partitioned_index_build_cut_short_is_finished_by_the_next_run():
    """A build killed midway (the parent's index made, one partition's index built but not
    attached, another's left invalid by a cancelled CONCURRENTLY build) ends complete when the
    migration runs again; replacing it keeps its name; dropping it leaves nothing behind."""
    index = models.Index(fields=["campaign", "outcome"], name="attempt_probe")
    partitions = sorted(attempt_partitions())
    first, second = partitions[0], partitions[1]
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE INDEX attempt_probe ON ONLY campaigns_attempt ("campaign_id", "outcome")'
        )
        cursor.execute(
            f'CREATE INDEX "{first}_attempt_probe" ON "{first}" ("campaign_id", "outcome")'
        )
        cursor.execute(
            f'CREATE INDEX "{second}_attempt_probe" ON "{second}" ("campaign_id", "outcome")'
        )
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass(%s)",
            [f"{second}_attempt_probe"],
        )
    assert not valid("attempt_probe")

    with connection.schema_editor(atomic=False) as editor:
        build_index(editor, Attempt, index)
    assert valid("attempt_probe")
    assert attached_partitions("attempt_probe") == partitions
    assert all(valid(f"{p}_attempt_probe") for p in (first, second))

    wider = models.Index(fields=["campaign", "outcome", "id"], name="attempt_probe")
    with connection.schema_editor(atomic=False) as editor:
        replace_index(editor, Attempt, index, wider)
    assert valid("attempt_probe")
    assert attached_partitions("attempt_probe") == partitions
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_indexdef(to_regclass('attempt_probe'))")
        assert cursor.fetchone()[0].endswith("(campaign_id, outcome, id)")

    with connection.schema_editor(atomic=False) as editor:
        drop_index(editor, Attempt, wider)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE '%%attempt_probe%%'")
        assert cursor.fetchone()[0] == 0
