"""Managers lose `change_user`: in the admin it let them make anyone a superuser or set any
password. Their powers are the platform pages' (see, block, stop sending)."""

from django.db import migrations


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Managers").first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="accounts", codename="change_user")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_blocked_by_token_generation"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
