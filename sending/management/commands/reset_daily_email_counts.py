"""The seed's manual reset of every account's count for the day.

Postroom needs no cron for this: counts start again by themselves at midnight in each
workspace's time zone. The command stays for people who used it.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from sending import quota


class Command(BaseCommand):
    help = "Reset the messages counted today on every sending account (not needed daily)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = quota.reset_daily_counts()
        self.stdout.write(self.style.SUCCESS(f"Reset the daily count of {count} account(s)."))
