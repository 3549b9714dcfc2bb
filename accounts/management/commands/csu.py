"""Create a superuser from the environment, without prompting (for scripts and containers).

    DJANGO_SUPERUSER_EMAIL=… DJANGO_SUPERUSER_PASSWORD=… manage.py csu

Running it again for an existing address leaves the user as it is, unless --update is given,
which sets the password again and restores superuser rights.
"""

import os
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts import services
from accounts.models import User, normalize_email


class Command(BaseCommand):
    help = "Create a superuser from DJANGO_SUPERUSER_EMAIL and DJANGO_SUPERUSER_PASSWORD."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", help="overrides DJANGO_SUPERUSER_EMAIL")
        parser.add_argument(
            "--update", action="store_true", help="reset the password of an existing user"
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        email = normalize_email(options["email"] or os.environ.get("DJANGO_SUPERUSER_EMAIL", ""))
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        if not email or not password:
            raise CommandError(
                "Set DJANGO_SUPERUSER_EMAIL and DJANGO_SUPERUSER_PASSWORD in the environment."
            )
        try:
            validate_password(password, User(email=email))
        except ValidationError as exc:
            raise CommandError("The password is too weak: " + " ".join(exc.messages)) from exc
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User.objects.create_superuser(email, password)
            services.workspace_create(name=f"{email.split('@')[0]}'s workspace", owner=user)
            self.stdout.write(self.style.SUCCESS(f"Superuser {email} created."))
        elif options["update"]:
            user.set_password(password)
            user.is_superuser = user.is_staff = user.is_active = True
            user.save(update_fields=["password", "is_superuser", "is_staff", "is_active"])
            services.user_mark_verified(user=user)
            services.user_revoke_tokens(user=user)
            self.stdout.write(self.style.SUCCESS(f"Superuser {email} updated."))
        else:
            self.stdout.write(f"{email} exists already; nothing changed (use --update).")
