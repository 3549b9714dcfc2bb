"""A bounce mailbox's messages, newest first, read one page through an index.

The mailbox's page and its API list what it gave by (received_at, id), newest first; the
index of (workspace, outcome, received_at) serves only a page of one outcome, and the page
of all of them sorted every message of the workspace. Built CONCURRENTLY on PostgreSQL
(core.index_builds).
"""

from django.db import migrations, models

from core.index_builds import build_index, drop_index

INDEX = models.Index(fields=["mailbox", "received_at", "id"], name="mailbox_message_recent")


def forwards(apps, schema_editor):
    build_index(schema_editor, apps.get_model("tracking", "MailboxMessage"), INDEX)


def backwards(apps, schema_editor):
    drop_index(schema_editor, apps.get_model("tracking", "MailboxMessage"), INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tracking", "0011_event_address_lowercased"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(model_name="mailboxmessage", index=INDEX),
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
