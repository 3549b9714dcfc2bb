"""One pass over what is due, then exit: for the seeds' users who send from cron.

It lives on top (postroom) because it runs the notification duty as well as the engine.

The worker (`manage.py worker`) does this all the time; this command runs the same engine
rounds until nothing due is left, prints how many messages were sent, and exits.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from campaigns.engine.step import Engine
from campaigns.models import Attempt, AttemptOutcome
from notifications.duty import run_notification_step


class Command(BaseCommand):
    help = "Send everything that is due now, then exit (for cron)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-rounds", type=int, default=100_000, help="stop after this many engine rounds"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = timezone.now()
        engine = Engine()
        rounds = 1
        while engine.step() and rounds < options["max_rounds"]:
            rounds += 1
        # What the pass did (a campaign finished, an account in error) is told now, not at
        # the next cron: there is no worker after it.
        while run_notification_step():
            pass
        sent = Attempt.objects.filter(created_at__gte=started, outcome=AttemptOutcome.SENT).count()
        self.stdout.write(f"Sent {sent} message{'s' if sent != 1 else ''} in {rounds} rounds.")
