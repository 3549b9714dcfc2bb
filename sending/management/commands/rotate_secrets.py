"""Re-encrypt every stored secret under the newest of ENCRYPTION_KEYS.

Put the new key first in ENCRYPTION_KEYS (keeping the old ones), run this, then remove the old
keys. It covers every EncryptedTextField of every app, and rewrites only values that the
newest key cannot already read.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.crypto import SecretUnreadable, rotate_all


class Command(BaseCommand):
    help = "Re-encrypt stored passwords, API keys, tokens and DKIM keys under the newest key."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rewritten = rotate_all()
        except SecretUnreadable as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
        for column, count in sorted(rewritten.items()):
            self.stdout.write(f"{column}: {count} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{sum(rewritten.values())} secrets re-encrypted."))
