"""The attempts' two time indexes end with the id, so that a page of the log, newest first,
is read in the index's order (keyset paging on created_at, id).

Each index is replaced without holding up the engine: on PostgreSQL, where the attempts are
partitioned by month, a plain CREATE INDEX locks every partition against the engine's writes
for as long as it reads every attempt. core.index_builds builds the new index partition by
partition, CONCURRENTLY, under a name of its own, then drops the old one and gives the new one
its name; the migration is not atomic. The state is the one Django wrote (Remove, then Add).
"""

from django.db import migrations, models

from core.index_builds import replace_index

REPLACED = [
    (
        models.Index(fields=["workspace", "-created_at"], name="attempt_ws_time"),
        models.Index(fields=["workspace", "-created_at", "-id"], name="attempt_ws_time"),
    ),
    (
        models.Index(fields=["campaign", "-created_at"], name="attempt_campaign_time"),
        models.Index(fields=["campaign", "-created_at", "-id"], name="attempt_campaign_time"),
    ),
]


def forwards(apps, schema_editor):
    attempt = apps.get_model("campaigns", "Attempt")
    for old, new in REPLACED:
        replace_index(schema_editor, attempt, old, new)


def backwards(apps, schema_editor):
    attempt = apps.get_model("campaigns", "Attempt")
    for old, new in REPLACED:
        replace_index(schema_editor, attempt, new, old)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0011_public_archive"),
        ("campaigns", "0023_day_tally"),
        ("sending", "0011_warmup_hold_detail"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="attempt", name="attempt_ws_time"),
                migrations.RemoveIndex(model_name="attempt", name="attempt_campaign_time"),
                *(migrations.AddIndex(model_name="attempt", index=new) for _, new in REPLACED),
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
