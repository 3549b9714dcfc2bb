"""The people of a sequence, newest enrolment first, read one page through an index.

The sequence's page and its API list its enrolments by (enrolled_at, id), newest first, and
no index served that order: people enrolled from one list share one enrolled_at, and every
page sorted all of a sequence's enrolments. Built CONCURRENTLY on PostgreSQL
(core.index_builds).
"""

from django.db import migrations, models

from core.index_builds import build_index, drop_index

INDEX = models.Index(fields=["sequence", "enrolled_at", "id"], name="enrollment_recent")


def forwards(apps, schema_editor):
    build_index(schema_editor, apps.get_model("automation", "Enrollment"), INDEX)


def backwards(apps, schema_editor):
    drop_index(schema_editor, apps.get_model("automation", "Enrollment"), INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("automation", "0002_date_trigger_step_conditions"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(model_name="enrollment", index=INDEX),
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
