"""Read a delivery's recent opens and clicks by an index bounded by time, and drop the two
indexes it replaces (the delivery's alone, and the delivery and kind).

The new index is built first, partition by partition, CONCURRENTLY (core.index_builds; the
migration is not atomic), so that the events stay indexed and writable throughout.
"""

import django.db.models.deletion
from django.db import migrations, models

from core.index_builds import build_index, drop_index

INDEX = models.Index(fields=["delivery", "kind", "occurred_at"], name="tracking_event_recent")


def create_index(apps, schema_editor):
    build_index(schema_editor, apps.get_model("tracking", "Event"), INDEX)


def remove_index(apps, schema_editor):
    drop_index(schema_editor, apps.get_model("tracking", "Event"), INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0010_user_language"),
        ("campaigns", "0010_delivery_workspace_address"),
        ("tracking", "0006_bounce_mailbox_oauth2"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="event", index=INDEX)],
            database_operations=[migrations.RunPython(create_index, remove_index, elidable=False)],
        ),
        migrations.RemoveIndex(
            model_name="event",
            name="tracking_ev_deliver_e64bf3_idx",
        ),
        migrations.AlterField(
            model_name="event",
            name="delivery",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="campaigns.delivery",
            ),
        ),
    ]
