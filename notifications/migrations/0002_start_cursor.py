"""Start reading after what already happened: an existing install is not told its history."""

from django.db import migrations
from django.db.models import Max


def start(apps, schema_editor):
    Cursor = apps.get_model("notifications", "Cursor")
    CampaignStatusChange = apps.get_model("campaigns", "CampaignStatusChange")
    AccountStatusChange = apps.get_model("sending", "AccountStatusChange")
    if not Cursor.objects.exists():
        Cursor.objects.create(
            campaign_change_id=CampaignStatusChange.objects.aggregate(m=Max("id"))["m"] or 0,
            account_change_id=AccountStatusChange.objects.aggregate(m=Max("id"))["m"] or 0,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("campaigns", "0005_campaign_status_change_outbox"),
        ("sending", "0004_account_status_change"),
    ]
    operations = [migrations.RunPython(start, migrations.RunPython.noop)]
