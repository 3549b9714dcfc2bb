"""Give every workspace made before sending existed its local capture account, as new ones get."""

from email.utils import parseaddr

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def add_capture_accounts(apps, schema_editor):
    Workspace = apps.get_model("accounts", "Workspace")
    SendingAccount = apps.get_model("sending", "SendingAccount")
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "postroom@localhost"
    with_accounts = SendingAccount.objects.values("workspace_id")
    SendingAccount.objects.bulk_create(
        SendingAccount(
            workspace=workspace,
            name="Local capture",
            from_email=address,
            from_name=workspace.name,
            kind="capture",
            status="active",
            status_changed_at=timezone.now(),
            daily_limit=1000,
            min_interval_seconds=0,
        )
        for workspace in Workspace.objects.exclude(pk__in=with_accounts)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("sending", "0001_initial"),
    ]

    operations = [migrations.RunPython(add_capture_accounts, migrations.RunPython.noop)]
