"""An index of the deliveries a deleted recipient left, by address.

The log's lookup of one address, and the erasure of one, find the address's deliveries by its
recipient, and these (their recipient is null) by this index: before, the log read the
workspace's attempts newest first until it had a page, which for a rare address meant all of
them. Rows enter the index only when a recipient is deleted; a launch's and the engine's
writes never do.

Built CONCURRENTLY on PostgreSQL (so the migration is not atomic): a plain build would hold
up the engine's writes for as long as it reads every delivery.
"""

import django.db.models.functions.text
from django.db import migrations, models

INDEX = models.Index(
    models.F("workspace"),
    django.db.models.functions.text.Lower("email"),
    condition=models.Q(("recipient__isnull", True)),
    name="delivery_orphan_address",
)


def create_index(apps, schema_editor):
    model = apps.get_model("campaigns", "Delivery")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_index(model, INDEX)
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [INDEX.name]
        )
        found = cursor.fetchone()
    if found is not None and found[0]:
        return  # built already
    if found is not None:  # an interrupted CONCURRENTLY build left it invalid: built again
        schema_editor.execute(f"DROP INDEX CONCURRENTLY {INDEX.name}")
    schema_editor.execute(INDEX.create_sql(model, schema_editor, concurrently=True))


def drop_index(apps, schema_editor):
    model = apps.get_model("campaigns", "Delivery")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_index(model, INDEX)
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX.name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("campaigns", "0025_hot_rows_without_foreign_keys"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="delivery", index=INDEX)],
            database_operations=[migrations.RunPython(create_index, drop_index, elidable=False)],
        ),
    ]
