"""Tables partitioned by month on PostgreSQL: the events and the attempts.

They grow with every message and every open; partitioning by month of their time column keeps
each month's indexes small and makes forgetting a month past its retention a `DROP TABLE`,
instant, instead of a long `DELETE`. Partitions are made ahead of time (the migrations and the
hourly housekeeping make this month's and the next few); a `DEFAULT` partition catches anything
else, such as an ESP reporting an event dated years back, so an insert never fails.

On SQLite the tables stay plain: nothing here does anything there but the chunked delete that
retention falls back to.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import OperationalError, transaction
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

log = logging.getLogger(__name__)

MONTHS_AHEAD = 3
LOCK_TIMEOUT_MS = 5_000


def partitioned(connection: BaseDatabaseWrapper = default_connection) -> bool:
    return connection.vendor == "postgresql"


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def months_before(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` before `day`'s month."""
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def _bound(month: dt.date) -> str:
    return f"{month.isoformat()} 00:00:00+00"  # months are UTC's, whatever the session's zone


@dataclass(frozen=True)
class Monthly:
    """A table partitioned by month of `column`, a timestamp (UTC months)."""

    table: str
    column: str

    def partition_name(self, month: dt.date) -> str:
        return f"{self.table}_{month:%Y_%m}"

    @property
    def default_name(self) -> str:
        return f"{self.table}_default"

    def ensure(
        self,
        today: dt.date,
        *,
        months_ahead: int = MONTHS_AHEAD,
        connection: BaseDatabaseWrapper | None = None,
    ) -> list[str]:
        """Make the partitions of this month and the next `months_ahead`; return those made.

        A month whose rows already sit in the default partition is left there (PostgreSQL
        refuses a partition that would take rows from the default one); it only happens for
        months that were never made ahead, and costs nothing but the split.
        """
        connection = connection or default_connection
        if not partitioned(connection):
            return []
        made = []
        month = month_start(today)
        with connection.cursor() as cursor:
            for _ in range(months_ahead + 1):
                if self._make(cursor, month):
                    made.append(self.partition_name(month))
                month = next_month(month)
        return made

    def drop_before(
        self,
        month: dt.date,
        *,
        connection: BaseDatabaseWrapper | None = None,
        lock_timeout_ms: int = LOCK_TIMEOUT_MS,
    ) -> list[str]:
        """Drop whole months older than `month` (the retention's cut); return those dropped.
        The default partition is kept, whatever it holds.

        A DROP locks the whole table for an instant, but waits for the queries already
        reading it, and everything else would wait behind it: after `lock_timeout_ms` it
        gives up, and the months left wait for the next try.
        """
        connection = connection or default_connection
        if not partitioned(connection):
            return []
        cut = self.partition_name(month_start(month))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = %s::regclass AND c.relname ~ %s",
                [self.table, f"^{self.table}_[0-9]{{4}}_[0-9]{{2}}$"],
            )
            old = sorted(name for (name,) in cursor.fetchall() if name < cut)
        dropped = []
        for name in old:
            try:
                with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
                    cursor.execute(f'DROP TABLE "{name}"')
            except OperationalError:
                log.warning("%s is busy: not dropped now, the next housekeeping tries again", name)
                break
            dropped.append(name)
        return dropped

    def delete_default_before(
        self, cut: dt.datetime, *, chunk: int, connection: BaseDatabaseWrapper | None = None
    ) -> int:
        """Delete the default partition's rows older than `cut`, `chunk` at a time; returns
        how many went. (No table points at a partitioned one, so nothing cascades.)"""
        connection = connection or default_connection
        removed = 0
        with connection.cursor() as cursor:
            while True:
                cursor.execute(
                    f'DELETE FROM "{self.default_name}" WHERE ctid = ANY(ARRAY('  # noqa: S608
                    f'SELECT ctid FROM "{self.default_name}" WHERE "{self.column}" < %s '
                    "LIMIT %s))",  # our names; the values are bound
                    [cut, chunk],
                )
                went = int(cursor.rowcount)
                removed += went
                if went < chunk:
                    return removed

    def _make(self, cursor: Any, month: dt.date) -> bool:
        """Make `month`'s partition unless it exists or the default one holds rows of it."""
        name, following = self.partition_name(month), next_month(month)
        cursor.execute("SELECT to_regclass(%s)", [name])
        if cursor.fetchone()[0] is not None:
            return False
        cursor.execute(
            f'SELECT EXISTS (SELECT 1 FROM "{self.default_name}" '  # noqa: S608 - our names
            f'WHERE "{self.column}" >= %s AND "{self.column}" < %s)',
            [_bound(month), _bound(following)],
        )
        if cursor.fetchone()[0]:
            return False
        cursor.execute(
            f'CREATE TABLE "{name}" PARTITION OF "{self.table}" FOR VALUES FROM (%s) TO (%s)',
            [_bound(month), _bound(following)],
        )
        return True

    def convert(self, connection: BaseDatabaseWrapper, today: dt.date) -> None:
        """Turn the plain table into one partitioned by month, rows kept (see `_rebuild`).
        The primary key becomes (id, column): PostgreSQL wants the partition key in every
        unique index."""
        self._rebuild(connection, today, partition=True)

    def unconvert(self, connection: BaseDatabaseWrapper) -> None:
        """Back to a plain table with the primary key (id), rows kept."""
        self._rebuild(connection, None, partition=False)

    def _rebuild(
        self, connection: BaseDatabaseWrapper, today: dt.date | None, *, partition: bool
    ) -> None:
        """Make the table anew, partitioned or not, with the same columns, defaults, checks,
        foreign keys and indexes, and copy its rows; ids go on after the highest one.

        The table is locked throughout (its writers wait) and the copy takes time in
        proportion to its rows. A foreign key pointing at the table could not be kept
        (it would need the time column too), so there must be none.
        """
        table, old = self.table, f"{self.table}_old"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_constraint WHERE confrelid = %s::regclass", [table]
            )
            if cursor.fetchone()[0]:
                raise RuntimeError(f"{table} is referenced by a foreign key; cannot rebuild it")
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname <> %s",
                [table, f"{table}_pkey"],
            )
            indexes = [row[0].replace(" ON ONLY ", " ON ") for row in cursor.fetchall()]
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f'",
                [table],
            )
            foreign_keys = cursor.fetchall()
            cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
            by = f' PARTITION BY RANGE ("{self.column}")' if partition else ""
            cursor.execute(
                f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS '
                f"INCLUDING CONSTRAINTS){by}"
            )
            # Numbered anew below: a default naming the old table's sequence would tie the
            # new table to it.
            cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN id DROP DEFAULT')
            if partition:
                cursor.execute(f'CREATE TABLE "{self.default_name}" PARTITION OF "{table}" DEFAULT')
                cursor.execute(
                    f"SELECT DISTINCT date_trunc('month', \"{self.column}\" AT TIME ZONE 'UTC') "  # noqa: S608
                    f'FROM "{old}"'
                )
                for (month,) in cursor.fetchall():
                    self._make(cursor, month.date())
            cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "{old}"')  # noqa: S608
            cursor.execute(f'DROP TABLE "{old}"')  # with its partitions and sequence
            self._number(cursor)
            key = f'id, "{self.column}"' if partition else "id"
            cursor.execute(f'ALTER TABLE "{table}" ADD PRIMARY KEY ({key})')
            for name, definition in foreign_keys:
                cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            for definition in indexes:
                cursor.execute(definition)
        if partition and today is not None:
            self.ensure(today, connection=connection)

    def _number(self, cursor: Any) -> None:
        """A sequence for the id column, going on after the highest id copied."""
        table, sequence = self.table, f"{self.table}_id_seq"
        cursor.execute(f'CREATE SEQUENCE "{sequence}" OWNED BY "{table}".id')
        cursor.execute(f"ALTER TABLE \"{table}\" ALTER COLUMN id SET DEFAULT nextval('{sequence}')")
        cursor.execute(
            f"SELECT setval('{sequence}', COALESCE(MAX(id), 0) + 1, false) "  # noqa: S608
            f'FROM "{table}"'
        )


@dataclass(frozen=True)
class Forgotten:
    months: list[str]  # partitions dropped (PostgreSQL)
    rows: int  # rows deleted one chunk at a time (SQLite; PostgreSQL's default partition)


def forget_past_retention(
    monthly: Monthly, model: type[Model], *, today: dt.date, months: int
) -> Forgotten:
    """Forget `model`'s rows older than this month and the `months` whole months before it
    (0 keeps everything)."""
    if months <= 0:
        return Forgotten([], 0)
    return forget_before(monthly, model, months_before(today, months))


def forget_before(
    monthly: Monthly, model: type[Model], cut: dt.date, *, chunk: int = 2_000
) -> Forgotten:
    """Forget `model`'s rows older than `cut`: on PostgreSQL whole months go with a DROP
    TABLE, and the few rows of those months that landed in the default partition one chunk
    at a time, as every old row does on SQLite. A month whose DROP gave up (see
    `Monthly.drop_before`) is left whole for the next try, not deleted row by row."""
    connection = default_connection
    months = monthly.drop_before(cut, connection=connection)
    since = dt.datetime.combine(cut, dt.time.min, tzinfo=dt.UTC)
    if partitioned(connection):
        return Forgotten(months, monthly.delete_default_before(since, chunk=chunk))
    return Forgotten(months, delete_before(model, monthly.column, since, chunk=chunk))


def delete_before(model: type[Model], column: str, cut: dt.datetime, *, chunk: int) -> int:
    """Delete `model`'s rows older than `cut`, `chunk` at a time (oldest ids first), so that no
    statement holds a long lock; returns how many went. Retention's way on SQLite."""
    removed = 0
    manager = model._default_manager
    while True:
        ids = list(
            manager.filter(**{f"{column}__lt": cut})
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            return removed
        removed += manager.filter(pk__in=ids).delete()[0]
