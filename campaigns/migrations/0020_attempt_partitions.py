"""On PostgreSQL, the attempt table becomes partitioned by month of created_at, rows kept
(see core.partitions and campaigns/partitions.py). The copy locks the table and takes time in
proportion to its rows: attempts are not written meanwhile. Reversed, it becomes a plain table
again, rows kept. Nothing happens on SQLite.

The models do not change: Django knows the primary key as `id`, the database as
(id, created_at), which only PostgreSQL's partitioning requires.
"""

from django.db import migrations
from django.utils import timezone


def partition(apps, schema_editor):
    from campaigns.partitions import ATTEMPTS
    from core.partitions import partitioned

    if partitioned(schema_editor.connection):
        ATTEMPTS.convert(schema_editor.connection, timezone.now().date())


def unpartition(apps, schema_editor):
    from campaigns.partitions import ATTEMPTS
    from core.partitions import partitioned

    if partitioned(schema_editor.connection):
        ATTEMPTS.unconvert(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0019_delivery_recipient_unchecked")]

    operations = [migrations.RunPython(partition, unpartition)]
