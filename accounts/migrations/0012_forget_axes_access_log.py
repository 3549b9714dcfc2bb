"""Forget the sign-in trail django-axes kept beside the audit log.

Every sign-in wrote an axes AccessLog row (the address it came from, its browser, when)
that nothing ever deleted, not even the erasure of the person: the audit log and the sessions
page record sign-ins already. Writing them stopped (AXES_DISABLE_ACCESS_LOG); the rows kept
so far go here. axes' lockout records (AccessAttempt) are untouched.
"""

from django.db import migrations


def forget(apps, schema_editor):
    apps.get_model("axes", "AccessLog").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_public_archive"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(forget, migrations.RunPython.noop, elidable=True)]
