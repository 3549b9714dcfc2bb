"""Writing many recipients at once in plain SQL, for imports of a million rows.

The ORM's bulk_create spends most of its time building model instances and preparing each
value (~25 µs a row), which caps an import near 10,000 rows/s. Here rows are tuples:
PostgreSQL receives them through COPY into a temporary table and one
INSERT … SELECT … ON CONFLICT; SQLite through executemany of INSERT … ON CONFLICT. Both
keep the unique (workspace, email) constraint as the judge of what is new.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q

from audience.models import Recipient, RecipientStatus

# The columns an imported row carries, in the order of its tuple.
ROW_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "company",
    "country",
    "city",
    "comment",
    "fields",
)
TEMP_TABLE = "audience_import_rows"


def as_row(email: str, values: dict[str, str], fields: dict[str, Any]) -> tuple[str, ...]:
    """One recipient as the tuple `write_rows` takes (absent standard columns are empty)."""
    return (
        email,
        values.get("first_name", ""),
        values.get("last_name", ""),
        values.get("company", ""),
        values.get("country", ""),
        values.get("city", ""),
        values.get("comment", ""),
        _json(fields),
    )


def _json(value: Any) -> str:
    """Compact JSON text, non-ASCII kept as it is. orjson, since a million-row import encodes
    every row's custom values: 0.45 µs a row against 3.5 for json's encoder, whose every call
    sets a new C encoder up (measured with timeit, three short text values)."""
    return orjson.dumps(value).decode()


def existing_recipients(workspace_id: int, emails: list[str], stamp: datetime) -> dict[str, bool]:
    """Those `emails` that are recipients already, each with whether a row stamped `stamp`
    wrote it (created_at or updated_at: an earlier batch of the same import).

    The database compares the stamps: loading two timestamps a row into Python cost more than
    the lookup itself (a re-import reads every row of the file this way). On PostgreSQL the
    addresses travel as one array parameter (`= ANY(%s)`): an IN list of 5,000 placeholders
    costs more to build and parse than the lookup itself.
    """
    return {
        email: mine for email, (mine, _) in stored_values(workspace_id, emails, (), stamp).items()
    }


def stored_values(
    workspace_id: int, emails: list[str], columns: Sequence[str], stamp: datetime
) -> dict[str, tuple[bool, dict[str, Any]]]:
    """`existing_recipients`, with the values of `columns` of each.

    For an "add and update" import, which writes a row only when a value differs. `columns`
    are Recipient columns (import targets checked against IMPORT_FIELDS, and "fields").
    """
    found: Any
    if connection.vendor == "postgresql":
        # "fields" comes back as JSON text.
        q = connection.ops.quote_name
        table = q(Recipient._meta.db_table)
        names = ", ".join(["email", "(created_at = %s OR updated_at = %s)", *map(q, columns)])
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {names} FROM {table} "  # noqa: S608 - our column names and %s
                "WHERE workspace_id = %s AND email = ANY(%s)",
                [stamp, stamp, workspace_id, emails],
            )
            found = cursor.fetchall()
    else:
        mine = ExpressionWrapper(Q(created_at=stamp) | Q(updated_at=stamp), BooleanField())
        qs = Recipient.objects.filter(workspace_id=workspace_id, email__in=emails)
        found = qs.annotate(mine=mine).values_list("email", "mine", *columns)
    return {row[0]: (bool(row[1]), dict(zip(columns, row[2:], strict=True))) for row in found}


# What the lookup of a batch's addresses tells of each row (compare_stored; PRESENT is the
# "add" import's word for a stored one, which it leaves as it is).
NEW = "new"  # no recipient has the address
WRITTEN = "written"  # a row stamped with this import's stamp: an earlier line of the file
CHANGED = "changed"  # stored, and writing the row would change a value
PRESENT = "present"  # stored: an "add" import does not compare values


def compare_stored(
    workspace_id: int,
    rows: Sequence[tuple[str, dict[str, str], dict[str, Any]]],
    columns: Sequence[str],
    stamp: datetime,
) -> dict[str, str]:
    """Those of `rows` (email, standard values, custom values) that an "add and update"
    import must act on, each with NEW, WRITTEN or CHANGED.

    The rows left out are stored unchanged: their standard `columns` equal the stored ones,
    and each of their custom values equals the stored value of that key (custom values are
    merged, so keys a row does not carry do not count). A re-import of the same file leaves
    out every row. On PostgreSQL the server compares: the batch goes as one JSON parameter,
    each row is found by the (workspace, email) index, and only the rows to act on come
    back, where reading every stored value into Python to compare it there was most of a
    re-import's time. Elsewhere the stored values are read and compared here.
    `columns` are import targets, checked against IMPORT_FIELDS by the caller.
    """
    if connection.vendor != "postgresql":
        stored = stored_values(workspace_id, [row[0] for row in rows], [*columns, "fields"], stamp)
        verdicts = {}
        for email, values, custom in rows:
            mine, found = stored.get(email, (False, None))
            if found is None:
                verdicts[email] = NEW
            elif mine:
                verdicts[email] = WRITTEN
            elif not _same(values, custom, found):
                verdicts[email] = CHANGED
        return verdicts
    q = connection.ops.quote_name
    table = q(Recipient._meta.db_table)
    # s.value is [email, {column: value}, {key: custom value}]: the rows as they are.
    same = [f"r.{q(c)} = s.value->1->>%s" for c in columns]
    same.append(
        "NOT EXISTS (SELECT 1 FROM jsonb_each(s.value->2) AS e "
        "WHERE r.fields -> e.key IS DISTINCT FROM e.value)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.value->>0, r.email IS NULL, r.created_at = %s OR r.updated_at = %s "  # noqa: S608
            "FROM jsonb_array_elements(%s::jsonb) AS s "
            f"LEFT JOIN {table} AS r ON r.workspace_id = %s AND r.email = s.value->>0 "
            "WHERE r.email IS NULL OR r.created_at = %s OR r.updated_at = %s "
            f"OR ({' AND '.join(same)}) IS NOT TRUE",
            [stamp, stamp, _json(rows), workspace_id, stamp, stamp, *columns],
        )
        return {
            email: NEW if new else WRITTEN if mine else CHANGED
            for email, new, mine in cursor.fetchall()
        }


def _same(values: dict[str, str], custom: dict[str, Any], stored: dict[str, Any]) -> bool:
    """`compare_stored`'s "nothing would change", in Python, against values read back."""
    if any(stored[name] != value for name, value in values.items()):
        return False
    fields = stored["fields"] or {}
    if isinstance(fields, str):  # a raw JSON column on some backends
        fields = json.loads(fields)
    return all(key in fields and fields[key] == value for key, value in custom.items())


def write_rows(
    workspace_id: int,
    rows: Sequence[tuple[str, ...]],
    stamp: datetime,
    update_columns: Sequence[str] | None = None,
) -> None:
    """Insert `rows`; on an existing (workspace, email) skip it, or update `update_columns`.

    When "fields" is among `update_columns` the row's custom values are merged into the
    stored ones (PostgreSQL `||`, SQLite `json_patch`), so the caller never reads them.

    `stamp` becomes created_at and updated_at of inserted rows and updated_at of updated ones.
    Must run inside the caller's transaction; raises the database's errors unchanged.
    Only names from the model and `update_columns` (which must be Recipient columns; the
    caller passes import targets checked against IMPORT_FIELDS) enter the SQL text; every
    value travels as a parameter or through COPY.
    """
    if not rows:
        return
    q = connection.ops.quote_name
    if update_columns is None:
        conflict = "DO NOTHING"
    else:
        # Custom values are merged, not replaced: columns the file does not have stay.
        table = q(Recipient._meta.db_table)
        sets = [
            f"{q(c)} = json_patch({table}.{q(c)}, EXCLUDED.{q(c)})"
            if c == "fields"
            else f"{q(c)} = EXCLUDED.{q(c)}"
            for c in [*update_columns, "updated_at"]
        ]
        conflict = "DO UPDATE SET " + ", ".join(sets)
    if connection.vendor == "postgresql":
        if update_columns is None and _copy_straight_in(workspace_id, rows, stamp):
            return
        _write_postgresql(workspace_id, rows, stamp, conflict, update_columns)
    else:
        _write_generic(workspace_id, rows, stamp, conflict)


def copy_if_all_new(workspace_id: int, rows: Sequence[tuple[str, ...]], stamp: datetime) -> bool:
    """Insert `rows` by COPY when none of their addresses is stored yet: True if it did.

    For the batches of a first import, which are new rows: looking their addresses up first
    (`existing_recipients`) cost a fifth of the database's work on them (6.3 of ~33 µs a
    row). The unique (workspace, email) constraint judges instead: should one address exist,
    the COPY fails at that row, its savepoint is rolled back, nothing of the batch stays,
    and False tells the caller to look the batch up and write it the careful way. Only on
    PostgreSQL (False elsewhere, without writing).
    """
    if connection.vendor != "postgresql" or not rows:
        return False
    return _copy_straight_in(workspace_id, rows, stamp)


def _target_columns() -> str:
    q = connection.ops.quote_name
    names = ["workspace_id", *ROW_COLUMNS, "status", "created_at", "updated_at"]
    return ", ".join(q(n) for n in names)


def _write_generic(
    workspace_id: int, rows: Sequence[tuple[str, ...]], stamp: datetime, conflict: str
) -> None:
    table = connection.ops.quote_name(Recipient._meta.db_table)
    when = connection.ops.adapt_datetimefield_value(stamp)
    placeholders = ", ".join(["%s"] * (len(ROW_COLUMNS) + 4))
    sql = (
        f"INSERT INTO {table} ({_target_columns()}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT (workspace_id, email) {conflict}"
    )
    active = RecipientStatus.ACTIVE.value
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(workspace_id, *row, active, when, when) for row in rows])


def _copy_straight_in(workspace_id: int, rows: Sequence[tuple[str, ...]], stamp: datetime) -> bool:
    """COPY new rows straight into the table: the fastest path, for rows known to be new.

    The caller has just seen that none of these addresses exists. Should another writer have
    added one meanwhile, the unique constraint fails the COPY; its savepoint is rolled back
    and False sends the batch through the conflict-aware path instead.
    """
    import psycopg  # PostgreSQL only; COPY errors come from psycopg, not through Django

    table = connection.ops.quote_name(Recipient._meta.db_table)
    active = RecipientStatus.ACTIVE.value
    # The stamp as text, formatted once: dumping a datetime on every row cost more than the
    # rest of the row (5.2 against 2.1 µs a row measured for COPY into a temporary table).
    when = stamp.isoformat()
    try:
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({_target_columns()}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row((workspace_id, *row, active, when, when))
    except (IntegrityError, psycopg.IntegrityError):
        return False
    return True


def _write_postgresql(
    workspace_id: int,
    rows: Sequence[tuple[str, ...]],
    stamp: datetime,
    conflict: str,
    update_columns: Sequence[str] | None,
) -> None:
    """COPY into a temporary table, then one statement moves the rows into place.

    Rows to update are rows the caller has just seen exist: an UPDATE … FROM changes them
    without the speculative insertion of INSERT … ON CONFLICT (twice as fast); one deleted
    meanwhile is simply not updated. Custom values are merged with `||`.
    """
    table = connection.ops.quote_name(Recipient._meta.db_table)
    q = connection.ops.quote_name
    text_columns = ", ".join(f"{c} text" for c in ROW_COLUMNS[:-1])
    source = ", ".join(ROW_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {TEMP_TABLE} ({text_columns}, fields jsonb) "
            "ON COMMIT DROP"
        )
        with cursor.copy(f"COPY {TEMP_TABLE} ({source}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if update_columns is not None:
            assignments = ", ".join(
                f"{q(c)} = r.{q(c)} || s.{q(c)}" if c == "fields" else f"{q(c)} = s.{q(c)}"
                for c in update_columns
            )
            cursor.execute(
                f"UPDATE {table} AS r SET {assignments}, updated_at = %s "  # noqa: S608
                f"FROM {TEMP_TABLE} AS s WHERE r.workspace_id = %s AND r.email = s.email",
                [stamp, workspace_id],
            )
        else:
            cursor.execute(
                f"INSERT INTO {table} ({_target_columns()}) "  # noqa: S608
                f"SELECT %s, {source}, %s, %s, %s FROM {TEMP_TABLE} "
                f"ON CONFLICT (workspace_id, email) {conflict}",
                [workspace_id, RecipientStatus.ACTIVE.value, stamp, stamp],
            )
        # Dropped now, not only at commit: tests run every batch inside one outer transaction.
        cursor.execute(f"DROP TABLE {TEMP_TABLE}")


def refresh_statistics() -> None:
    """ANALYZE the recipients table on PostgreSQL (elsewhere nothing).

    A large import into a new workspace changes the table faster than autovacuum re-analyses
    it. With statistics that still say "this workspace has no rows", PostgreSQL looks up a
    batch's addresses through the workspace index and filters every row of the workspace,
    so each batch gets slower than the last. Re-analysing as the import grows keeps the
    (workspace, email) index in use.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Recipient._meta.db_table)}")
