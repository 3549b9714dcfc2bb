"""The event's sender, and an index of a workspace's events in id order for the webhook
collector's cursor.

The events are partitioned by month on PostgreSQL: the index is built partition by partition,
CONCURRENTLY (core.index_builds; the migration is not atomic), so that opens, clicks and
bounces go on being written while it is built.
"""

from django.db import migrations, models

from core.index_builds import build_index, drop_index

INDEX = models.Index(fields=["workspace", "id"], name="tracking_event_workspace_id")


def create_index(apps, schema_editor):
    build_index(schema_editor, apps.get_model("tracking", "Event"), INDEX)


def remove_index(apps, schema_editor):
    drop_index(schema_editor, apps.get_model("tracking", "Event"), INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0009_merge_two_factor_and_signup_color"),
        ("campaigns", "0009_merge_resends_counts_and_launching"),
        ("tracking", "0004_mailbox_message"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="sender",
            field=models.EmailField(blank=True, db_default="", default="", max_length=254),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="event", index=INDEX)],
            database_operations=[migrations.RunPython(create_index, remove_index, elidable=False)],
        ),
    ]
