# Every open and click wrote entries in two single-column indexes that the composite
# indexes starting with the same columns make redundant. Django's AlterField would also drop
# and re-add the foreign keys, and re-adding one checks every row of the event table under a
# lock: only the indexes are dropped here.

import django.db.models.deletion
from django.db import migrations, models

INDEXES = {
    "tracking_event_campaign_id_49373708": "campaign_id",
    "tracking_event_workspace_id_10e12ce3": "workspace_id",
}


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_public_archive"),
        ("campaigns", "0011_public_archive"),
        ("tracking", "0007_event_recent_by_delivery"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "tracking_event" ("{column}")',
                )
                for name, column in INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="campaign",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="campaigns.campaign",
                    ),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="workspace",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.workspace",
                    ),
                ),
            ],
        ),
    ]
