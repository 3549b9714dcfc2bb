"""A trigram index for searching the suppression list by part of an address, on PostgreSQL.

A search for a whole address reads one entry through the unique (workspace, email) index; a
search for part of one (`?q=`, page and API: `UPPER(email) LIKE UPPER('%…%')`, what icontains
writes) read every entry: at 1,000,000 entries a rare fragment took 223 ms (a parallel
sequential scan). pg_trgm's GIN index on the same expression serves it (bench/bench_search.py
measures both). Entries are written one bounce, complaint or unsubscribe at a time, or by an
import of a list, which the index costs about 14 µs an entry (the trigram index of an address
alone, measured on the recipients table).

Not in the model's state: SQLite has no such index (its search reads the list, as before).
Built and dropped CONCURRENTLY (core.index_builds), so the migration is not atomic.
"""

from django.db import migrations

from core.index_builds import build_postgres_index

NAME = "suppression_email_trgm"
# Exactly what icontains writes, so that the planner matches it.
CREATE = (
    f"CREATE INDEX CONCURRENTLY {NAME} ON audience_suppression "
    'USING gin (UPPER("email"::text) gin_trgm_ops)'
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    build_postgres_index(schema_editor, NAME, CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("audience", "0014_import_lines_by_address")]

    operations = [migrations.RunPython(forwards, backwards)]
