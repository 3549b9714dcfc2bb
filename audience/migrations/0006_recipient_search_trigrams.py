"""Trigram indexes for the recipients' search (`?q=`), on PostgreSQL only.

The search is `upper(col) LIKE upper('%term%')` over four columns (Django's `icontains`); a
B-tree cannot serve a pattern with a leading wildcard, so with a million recipients each
search read the whole workspace. pg_trgm's GIN indexes on the same expressions serve it
(terms of three characters or more). SQLite has neither: nothing is done there.

The indexes are built CONCURRENTLY (so the migration is not atomic): on a large table a
plain build would block imports and edits of recipients for as long as it takes.
"""

from django.db import migrations

COLUMNS = ("email", "first_name", "last_name", "company")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        # The expression is exactly what Django's icontains writes, so the planner matches it.
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS recipient_{column}_trgm "
            f'ON audience_recipient USING gin (upper("{column}"::text) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS recipient_{column}_trgm")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("audience", "0005_recipient_sort_indexes"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
