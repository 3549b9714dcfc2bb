"""No foreign-key constraint on a recipient's workspace.

An import writes every row of its file into the one workspace its job belongs to; the check
at commit cost a COPY of 300,000 rows 1.6 s of its ~9 (three alternated pairs on this
machine kind). Django's cascade deletes a workspace's recipients.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_public_archive"),
        ("audience", "0010_recipient_one_search_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="recipient",
            name="workspace",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="recipients",
                to="accounts.workspace",
            ),
        ),
    ]
