"""On PostgreSQL, the event table becomes partitioned by month (see tracking/partitions.py)."""

from django.db import migrations
from django.utils import timezone


def partition(apps, schema_editor):
    from tracking.partitions import convert_to_partitioned, partitioned

    if partitioned(schema_editor.connection):
        convert_to_partitioned(schema_editor.connection, timezone.now().date())


class Migration(migrations.Migration):
    dependencies = [("tracking", "0002_event")]

    # Irreversible in place: going back drops the table with 0002's reversal.
    operations = [migrations.RunPython(partition, migrations.RunPython.noop)]
