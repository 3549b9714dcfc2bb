from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audience", "0004_recipient_comment_max_length"),
    ]

    operations = [
        migrations.AddField(
            model_name="audiencejob",
            name="unchanged",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="importrejection",
            name="duplicate",
            field=models.BooleanField(default=False),
        ),
    ]
