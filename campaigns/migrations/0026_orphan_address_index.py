"""An index of the deliveries a deleted recipient left, by address.

The log's lookup of one address, and the erasure of one, find the address's deliveries by its
recipient, and these (their recipient is null) by this index: before, the log read the
workspace's attempts newest first until it had a page, which for a rare address meant all of
them. Rows enter the index only when a recipient is deleted; a launch's and the engine's
writes never do.

Built CONCURRENTLY on PostgreSQL (core.index_builds; the migration is not atomic): a plain
build would hold up the engine's writes for as long as it reads every delivery.
"""

import django.db.models.functions.text
from django.db import migrations, models

from core.index_builds import build_index, drop_index

INDEX = models.Index(
    models.F("workspace"),
    django.db.models.functions.text.Lower("email"),
    condition=models.Q(("recipient__isnull", True)),
    name="delivery_orphan_address",
)


def create_index(apps, schema_editor):
    build_index(schema_editor, apps.get_model("campaigns", "Delivery"), INDEX)


def remove_index(apps, schema_editor):
    drop_index(schema_editor, apps.get_model("campaigns", "Delivery"), INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("campaigns", "0025_hot_rows_without_foreign_keys"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="delivery", index=INDEX)],
            database_operations=[migrations.RunPython(create_index, remove_index, elidable=False)],
        ),
    ]
