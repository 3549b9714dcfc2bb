"""The recipients' created_at index ends with the id, as the other sort indexes do.

Sorting the recipients by when they were added reads `ORDER BY created_at, id`. The index of
(workspace, created_at) left the ties to a sort, and an import gives every row it adds the
same created_at: with a million imported recipients, each page of that sort read and sorted
all of them (250 ms and two parallel workers a page on PostgreSQL, bench/bench_import.py's
database), where the other sorts read one page (under 1 ms).

Built and dropped CONCURRENTLY on PostgreSQL (core.index_builds), the new index before the
old one goes, as in 0010.
"""

from django.db import migrations, models

from core.index_builds import build_index, drop_index

NEW = models.Index(fields=["workspace", "created_at", "id"], name="recipient_ws_created_id")
OLD = models.Index(fields=["workspace", "created_at"], name="recipient_ws_created")


def forwards(apps, schema_editor):
    recipient = apps.get_model("audience", "Recipient")
    build_index(schema_editor, recipient, NEW)
    drop_index(schema_editor, recipient, OLD)


def backwards(apps, schema_editor):
    recipient = apps.get_model("audience", "Recipient")
    build_index(schema_editor, recipient, OLD)
    drop_index(schema_editor, recipient, NEW)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("audience", "0011_recipient_workspace_without_foreign_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="recipient", name=OLD.name),
                migrations.AddIndex(model_name="recipient", index=NEW),
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
