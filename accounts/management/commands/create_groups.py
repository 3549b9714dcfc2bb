"""Create the Managers group and give it the platform managers' permissions (idempotent)."""

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand

from accounts.selectors import MANAGERS_GROUP

# The platform pages' powers (see every workspace, block users, stop sending) and reading users
# and workspaces in the admin; never changing users there, which would let a manager make
# anyone a superuser or set anyone's password. Blocking is done on the platform pages.
MANAGER_PERMISSIONS = (
    ("accounts", "view_all_workspaces"),
    ("accounts", "stop_workspace_sending"),
    ("accounts", "view_workspace"),
    ("accounts", "view_user"),
)


class Command(BaseCommand):
    help = "Create the 'Managers' group: see every workspace read-only, block users, stop sending."

    def handle(self, *args: Any, **options: Any) -> None:
        group, created = Group.objects.get_or_create(name=MANAGERS_GROUP)
        permissions = [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in MANAGER_PERMISSIONS
        ]
        group.permissions.set(permissions)
        verb = "Created" if created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} group '{group.name}' with {len(permissions)} permissions.")
        )
        self.stdout.write(
            "A superuser adds managers in the admin: Users → the user → Groups → Managers."
        )
