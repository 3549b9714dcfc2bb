"""Test sending accounts from the command line, as the seed does.

    manage.py test_email_accounts                 every active account
    manage.py test_email_accounts --account-id 3  one account, whatever its status
    manage.py test_email_accounts --email a@b.c   the accounts sending as that address
    ... --send-to me@example.com                  also send a test message there

Connects, authenticates and quits; sends nothing unless --send-to is given. Exits with 1 when
any test failed, so scripts can tell.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sending import selectors, services


class Command(BaseCommand):
    help = "Test the connection of sending accounts (all active ones by default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account-id", type=int, help="test this account only")
        parser.add_argument("--email", help="test the accounts sending as this address")
        parser.add_argument("--send-to", help="also send a test message to this address")

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = selectors.accounts_for_command(
            account_id=options["account_id"], email=options["email"]
        )
        if not accounts:
            raise CommandError("No sending account matches.")
        failed = 0
        for account in accounts:
            outcome = services.account_test(account=account, send_to=options["send_to"])
            style = self.style.SUCCESS if outcome.success else self.style.ERROR
            mark = "OK  " if outcome.success else "FAIL"
            self.stdout.write(
                style(f"{mark} #{account.pk} {account.from_email}: {outcome.message}")
            )
            failed += not outcome.success
        if failed:
            raise CommandError(f"{failed} of {len(accounts)} account(s) failed the test.")
