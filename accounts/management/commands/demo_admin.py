"""Make sure a fresh install has an administrator to sign in with, and say how (make run).

The first time, the administrator's workspace is filled with demo data (manage.py seed_demo).
"""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts import services


class Command(BaseCommand):
    help = "Create a demo administrator if there is no superuser; print how to sign in."

    def handle(self, *args: Any, **options: Any) -> None:
        password_file = settings.VAR_DIR / "demo-admin-password.txt"
        admin = services.demo_admin_ensure(
            email=settings.DEMO_ADMIN_EMAIL, password_file=str(password_file)
        )
        # The configured public address when there is one; else where `make run` serves.
        url = (settings.SITE_URL or f"http://127.0.0.1:{settings.POSTROOM_PORT}") + "/"
        if admin.created:
            self.stdout.write(self.style.SUCCESS("Created the demo administrator."))
            # A first sign-in should show a living app: demo recipients, templates and a sent
            # campaign. By name, so that accounts does not import the campaigns app above it.
            membership = admin.user.memberships.order_by("pk").first()
            if membership is not None:
                call_command("seed_demo", workspace=membership.workspace_id, stdout=self.stdout)
        self.stdout.write(f"Sign in at {url}")
        self.stdout.write(f"  e-mail:   {admin.user.email}")
        if admin.password:
            self.stdout.write(f"  password: {admin.password}   (kept in {password_file})")
        else:
            self.stdout.write("  password: the one you set (reset it with manage.py csu --update)")
