"""Monthly partitions of the event table on PostgreSQL.

Events grow with every open and click; partitioning by month of `occurred_at` keeps each
month's indexes small and makes dropping a month past its retention a cheap `DROP TABLE`
instead of a long `DELETE`. Partitions are made ahead of time (the migration and the hourly
housekeeping make this month's and the next few); a `DEFAULT` partition catches anything else,
such as an ESP reporting an event dated years back, so an insert never fails.

Nothing here runs on SQLite: there the table is a plain table.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "tracking_event"
MONTHS_AHEAD = 3


def partitioned(connection: BaseDatabaseWrapper = default_connection) -> bool:
    return connection.vendor == "postgresql"


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_{month:%Y_%m}"


def ensure_partitions(
    today: dt.date,
    *,
    months_ahead: int = MONTHS_AHEAD,
    connection: BaseDatabaseWrapper | None = None,
) -> list[str]:
    """Make the partitions of this month and the next `months_ahead`; return those made.

    A month whose rows already sit in the default partition is left there (PostgreSQL refuses
    a partition that would take rows from the default one); it only happens for months that
    were never made ahead, and costs nothing but the split.
    """
    connection = connection or default_connection
    if not partitioned(connection):
        return []
    made = []
    month = month_start(today)
    with connection.cursor() as cursor:
        for _ in range(months_ahead + 1):
            name, following = partition_name(month), next_month(month)
            cursor.execute("SELECT to_regclass(%s)", [name])
            if cursor.fetchone()[0] is None and not _default_holds(cursor, month, following):
                cursor.execute(
                    f'CREATE TABLE "{name}" PARTITION OF "{TABLE}" FOR VALUES FROM (%s) TO (%s)',
                    [month.isoformat(), following.isoformat()],
                )
                made.append(name)
            month = following
    return made


def drop_partitions_before(
    month: dt.date, *, connection: BaseDatabaseWrapper | None = None
) -> list[str]:
    """Drop whole months older than `month` (the retention's cut); return those dropped."""
    connection = connection or default_connection
    if not partitioned(connection):
        return []
    cut = partition_name(month_start(month))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass AND c.relname ~ %s",
            [TABLE, f"^{TABLE}_[0-9]{{4}}_[0-9]{{2}}$"],
        )
        old = sorted(name for (name,) in cursor.fetchall() if name < cut)
        for name in old:
            cursor.execute(f'DROP TABLE "{name}"')
    return old


def _default_holds(cursor: object, start: dt.date, end: dt.date) -> bool:
    cursor.execute(  # type: ignore[attr-defined]
        f'SELECT EXISTS (SELECT 1 FROM "{TABLE}_default" WHERE occurred_at >= %s '  # noqa: S608
        "AND occurred_at < %s)",  # our constant table name; the values are bound
        [start.isoformat(), end.isoformat()],
    )
    return bool(cursor.fetchone()[0])  # type: ignore[attr-defined]


def convert_to_partitioned(connection: BaseDatabaseWrapper, today: dt.date) -> None:
    """Turn the (empty, just created) plain event table into one partitioned by month, with the
    same columns, defaults, checks, foreign keys and indexes. The primary key becomes
    (id, occurred_at), as PostgreSQL requires the partition key in every unique index."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname <> %s",
            [TABLE, f"{TABLE}_pkey"],
        )
        indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [TABLE],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{TABLE}_plain"')
        cursor.execute(
            f'CREATE TABLE "{TABLE}" (LIKE "{TABLE}_plain" INCLUDING DEFAULTS '
            "INCLUDING CONSTRAINTS) PARTITION BY RANGE (occurred_at)"
        )
        cursor.execute(f'DROP TABLE "{TABLE}_plain"')
        cursor.execute(f'CREATE SEQUENCE "{TABLE}_id_seq" OWNED BY "{TABLE}".id')
        cursor.execute(
            f"ALTER TABLE \"{TABLE}\" ALTER COLUMN id SET DEFAULT nextval('{TABLE}_id_seq')"
        )
        cursor.execute(f'ALTER TABLE "{TABLE}" ADD PRIMARY KEY (id, occurred_at)')
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{name}" {definition}')
        for definition in indexes:
            cursor.execute(definition)
        cursor.execute(f'CREATE TABLE "{TABLE}_default" PARTITION OF "{TABLE}" DEFAULT')
    ensure_partitions(today, connection=connection)
