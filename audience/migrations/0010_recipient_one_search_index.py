"""One trigram index for the recipients' search instead of four, and no index on the workspace
alone.

An import paid for every row it wrote in each of the four GIN indexes of migration 0006 (one
a searched column): 34 µs a row, more than all the rest of the database's work. The search
now asks `UPPER(email || sep || first_name || sep || last_name || sep || company) LIKE`
(selectors.SearchText), which ONE index on that expression serves: 13 µs a row
(bench/bench_import.py), searches as fast. On SQLite nothing is indexed for the search.

The workspace index Django made for the foreign key repeats the first column of the unique
(workspace, email) and of every other recipient index: it was written by every import and
read by no plan. Only the index is dropped: Django's AlterField would also drop and re-add
the foreign key, which re-checks every row under a lock.

Indexes are built and dropped CONCURRENTLY on PostgreSQL (so the migration is not atomic): a
plain build would block imports and edits for as long as it takes. The new index exists
before the old ones go, so that a search never lacks one.
"""

from django.db import migrations, models

from core.index_builds import build_postgres_index

OLD_COLUMNS = ("email", "first_name", "last_name", "company")
# Exactly what selectors.SearchText and icontains write, so that the planner matches it.
SEARCH_EXPRESSION = (
    'UPPER(("email" || E\'\\x01\' || "first_name" || E\'\\x01\' || "last_name" '
    "|| E'\\x01' || \"company\")::text)"
)
WORKSPACE_INDEX = "audience_recipient_workspace_id_09735085"


def _create_index(schema_editor, name, definition):
    # Rebuilt when an interrupted CONCURRENTLY build left it invalid (core.index_builds).
    build_postgres_index(
        schema_editor, name, f"CREATE INDEX CONCURRENTLY {name} ON audience_recipient {definition}"
    )


def one_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    _create_index(
        schema_editor, "recipient_search_trgm", f"USING gin ({SEARCH_EXPRESSION} gin_trgm_ops)"
    )
    for column in OLD_COLUMNS:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS recipient_{column}_trgm")


def four_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in OLD_COLUMNS:
        _create_index(
            schema_editor,
            f"recipient_{column}_trgm",
            f'USING gin (upper("{column}"::text) gin_trgm_ops)',
        )
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS recipient_search_trgm")


def drop_workspace_index(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {WORKSPACE_INDEX}")


def create_workspace_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _create_index(schema_editor, WORKSPACE_INDEX, "(workspace_id)")
    else:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {WORKSPACE_INDEX} ON audience_recipient (workspace_id)"
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0011_public_archive"),
        ("audience", "0009_job_error_detail"),
    ]

    operations = [
        migrations.RunPython(one_search_index, four_search_indexes, elidable=False),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="recipient",
                    name="workspace",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="recipients",
                        to="accounts.workspace",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_workspace_index, create_workspace_index),
            ],
        ),
    ]
