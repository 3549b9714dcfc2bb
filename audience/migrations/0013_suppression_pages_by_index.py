"""Suppressions listed newest first read one page through an index, not the whole list.

The suppression page and the API list a workspace's blocked addresses by (created_at, id),
newest first. No index served that order, and an imported list shares one created_at: with a
million suppressions every API page sorted them all (183 ms a page, plus its count) and the
page read them with two parallel workers (99 ms). The index (workspace, created_at, id)
serves both orders; the workspace's own index goes, as in 0010: the workspace is the first
column of this index and of the unique (workspace, email), and every block wrote it.

Built and dropped CONCURRENTLY on PostgreSQL (core.index_builds).
"""

import django.db.models.deletion
from django.db import migrations, models

from core.index_builds import build_index, drop_index

NEW = models.Index(fields=["workspace", "created_at", "id"], name="suppression_ws_created_id")
# The index Django made for the foreign key, under the name it gave it.
WORKSPACE = models.Index(fields=["workspace"], name="audience_suppression_workspace_id_cf93ac0a")


def forwards(apps, schema_editor):
    suppression = apps.get_model("audience", "Suppression")
    build_index(schema_editor, suppression, NEW)
    drop_index(schema_editor, suppression, WORKSPACE)


def backwards(apps, schema_editor):
    suppression = apps.get_model("audience", "Suppression")
    build_index(schema_editor, suppression, WORKSPACE)
    drop_index(schema_editor, suppression, NEW)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0011_public_archive"),
        ("audience", "0012_recipient_created_index_with_id"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="suppression",
            options={"ordering": ("-created_at", "-id")},
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="suppression",
                    name="workspace",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="suppressions",
                        to="accounts.workspace",
                    ),
                ),
                migrations.AddIndex(model_name="suppression", index=NEW),
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
