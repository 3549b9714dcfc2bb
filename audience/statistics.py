"""Statistics of the audience's tables on PostgreSQL, refreshed when they stop describing them.

A workspace that imported its audience minutes ago has tables much larger than the planner's
statistics say; plans built on them (the audience count on the campaign page, the launch's
INSERT of deliveries) can turn quadratic. Both the end of an import and the launch ask for a
refresh; checking costs a few small queries, and an ANALYZE runs only on a table that changed.
"""

from __future__ import annotations

from django.db import connection
from django.db.backends.utils import CursorWrapper

from audience.models import ListMembership, Recipient, RecipientList, Suppression

# The tables the audience's plan reads. Statistics taken when one was much smaller (a test
# database analyzed while nearly empty, a workspace that imported its audience minutes ago)
# say the campaign's list or workspace has no rows; PostgreSQL then probes the list's members
# by list alone for every recipient (a nested loop that scans the whole list per recipient:
# quadratic, 20,000 recipients ran for more than 300 s). Fresh statistics make it probe the
# (list, recipient) index: linear.
AUDIENCE_TABLES = (Recipient, ListMembership, RecipientList, Suppression)
# A table counts as grown past its statistics when it has more than twice the pages they
# counted, plus this many (64 KB: small tables are not worth an ANALYZE).
STALE_SLACK_PAGES = 8
# Below this many rows in its statistics a table is also counted, up to twice that plus 1,000
# rows: its pages may be dead space of deleted or rolled-back rows (so a few thousand new rows
# do not double them), and the change counters lag behind a writer (flushed once a second,
# and only after its transaction). Counting at most ~101,000 index entries takes milliseconds.
COUNTED_BELOW_ROWS = 50_000


def refresh_stale_statistics() -> list[str]:
    """ANALYZE each audience table whose statistics no longer describe it: never analyzed,
    grown past twice the size they counted, changed by more rows than they counted, or (a
    table they count under COUNTED_BELOW_ROWS rows) holding more than twice their rows.
    Returns the tables analyzed. PostgreSQL only (SQLite plans need no statistics here).

    Checking costs a catalog query, and one query counting at most ~101,000 rows of each
    table counted under COUNTED_BELOW_ROWS; an ANALYZE samples at most 30,000 rows (a
    fraction of a second on a million recipients) and happens only after such a change.
    """
    if connection.vendor != "postgresql":
        return []
    tables = [model._meta.db_table for model in AUDIENCE_TABLES]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples, (c.reltuples < 0"
            "  OR pg_relation_size(c.oid) / current_setting('block_size')::int"
            "     > 2 * c.relpages + %s"
            "  OR coalesce(s.n_mod_since_analyze, 0) > greatest(c.reltuples, 1000))"
            " FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
            " WHERE c.oid IN (SELECT to_regclass(name) FROM unnest(%s::text[]) AS name)",
            [STALE_SLACK_PAGES, tables],
        )
        found = cursor.fetchall()
        stale = [name for name, _, is_stale in found if is_stale]
        small = {name: c for name, c, is_stale in found if not is_stale and c < COUNTED_BELOW_ROWS}
        stale += _outgrown(cursor, small)
        for name in stale:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
    return stale


def _outgrown(cursor: CursorWrapper, counted: dict[str, float]) -> list[str]:
    """Of these tables (name: the rows their statistics count), those holding more than
    twice that plus 1,000 rows: one query, each count stopping there."""
    if not counted:
        return []
    parts: list[str] = []
    params: list[str | int] = []
    for name, rows in counted.items():
        quoted = connection.ops.quote_name(name)
        limit = 2 * max(int(rows), 0) + 1000
        parts.append(
            f"SELECT %s, count(*) > %s FROM (SELECT 1 FROM {quoted} LIMIT %s) AS t"  # noqa: S608
        )
        params += [name, limit, limit + 1]
    cursor.execute(" UNION ALL ".join(parts), params)
    return [name for name, outgrown in cursor.fetchall() if outgrown]
