from django.db import migrations
from django.db.models.functions import Lower

# Events about no delivery of ours (a service's report) kept the service's spelling of the
# address, and so did the suppressions they made: "Ann@Example.com" suppressed nobody, as
# recipients are lowercased. Both are lowercased now; a mixed-case entry whose lowercased
# twin exists already goes, the twin stays. Only such rows are written (one read of each
# table, as tracking_event has no index on lower(email)).


def lowercase(apps, schema_editor):
    Event = apps.get_model("tracking", "Event")
    Suppression = apps.get_model("audience", "Suppression")
    Event.objects.exclude(email=Lower("email")).update(email=Lower("email"))
    # Few rows: one at a time, so that two spellings of one address become one entry.
    mixed = Suppression.objects.exclude(email=Lower("email")).order_by("id")
    for entry in list(mixed):
        address = entry.email.lower()
        same = Suppression.objects.filter(workspace_id=entry.workspace_id, email=address)
        if same.exists():
            entry.delete()
        else:
            Suppression.objects.filter(pk=entry.pk).update(email=address)


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0010_event_account_filled"),
        ("audience", "0011_recipient_workspace_without_foreign_key"),
    ]

    operations = [migrations.RunPython(lowercase, migrations.RunPython.noop)]
