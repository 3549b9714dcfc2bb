"""An erasure finds the import report lines naming an address by an index.

Erasing a person takes their address out of every import report's rejected and duplicate
lines. A line keeps the address as the file wrote it, so they are matched case aside
(`UPPER(email) = UPPER(…)`), which no index served: each erasure read every line of every
report of the workspace. The index is on that expression.

Built and dropped CONCURRENTLY on PostgreSQL (core.index_builds).
"""

from django.db import migrations, models
from django.db.models.functions import Upper

from core.index_builds import build_index, drop_index

NEW = models.Index(Upper("email"), name="importrejection_email_upper")


def forwards(apps, schema_editor):
    build_index(schema_editor, apps.get_model("audience", "ImportRejection"), NEW)


def backwards(apps, schema_editor):
    drop_index(schema_editor, apps.get_model("audience", "ImportRejection"), NEW)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("audience", "0013_suppression_pages_by_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="importrejection", index=NEW)],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
