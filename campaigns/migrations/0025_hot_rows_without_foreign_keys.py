"""No foreign-key constraint on the columns the engine writes for every message.

Each message's record checked three keys at commit (its attempt's delivery and account, its
delivery's account): 300,000 key-share lookups for 100,000 messages, ~8.5 µs of the
database's CPU a message (pg_stat_statements). Django's cascades still delete and unset
these rows (on_delete is Django's, not the database's); an account deleted while a batch is
being recorded leaves its id, where the constraint failed the record and sent the batch
again. The frozen tallies copy the deliveries' account ids, so they lose theirs too.

Dropping a constraint is quick (no table rewrite, no validation); it takes a brief exclusive
lock on the tables named.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0024_attempt_order_indexes"),
        ("sending", "0011_warmup_hold_detail"),
    ]

    operations = [
        migrations.AlterField(
            model_name="attempt",
            name="account",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="sending.sendingaccount",
            ),
        ),
        migrations.AlterField(
            model_name="attempt",
            name="delivery",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="attempt_set",
                to="campaigns.delivery",
            ),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="account",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="sending.sendingaccount",
            ),
        ),
        migrations.AlterField(
            model_name="senttally",
            name="account",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="sending.sendingaccount",
            ),
        ),
    ]
