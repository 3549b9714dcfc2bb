"""An index of a campaign's deliveries in id order, for the pages that list them a page at a
time.

Built CONCURRENTLY on PostgreSQL (core.index_builds; the migration is not atomic): a plain
build would hold up the engine's writes for as long as it reads every delivery.
"""

from django.db import migrations, models

from core.index_builds import build_index, drop_index

INDEX = models.Index(fields=["campaign", "id"], name="delivery_campaign_id")


def create_index(apps, schema_editor):
    build_index(schema_editor, apps.get_model("campaigns", "Delivery"), INDEX)


def remove_index(apps, schema_editor):
    drop_index(schema_editor, apps.get_model("campaigns", "Delivery"), INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0011_public_archive"),
        ("audience", "0009_job_error_detail"),
        ("campaigns", "0020_attempt_partitions"),
        ("sending", "0011_warmup_hold_detail"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="delivery", index=INDEX)],
            database_operations=[migrations.RunPython(create_index, remove_index, elidable=False)],
        ),
    ]
