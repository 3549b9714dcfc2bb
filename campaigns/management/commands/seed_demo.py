"""Demo data and a finished campaign in a workspace of their own, so a new user sees a
living app without a demo ever touching their real contacts.

    manage.py seed_demo [--workspace ID | --email OWNER_EMAIL] [--recipients N]

With --email (or without options: the first superuser, the demo administrator on a fresh
install) the data goes into that user's workspace "Postroom demo", made the first time.
--workspace ID fills that workspace only while it holds no data of its own. Running it again
adds nothing twice. Links in the demo messages use SITE_URL.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Membership, Role, User, Workspace
from campaigns.demo import DemoRefused, demo_workspace_for, seed_demo
from campaigns.links import site_url
from campaigns.services import CampaignError


def workspace_from(options: dict[str, Any]) -> Workspace:
    """The workspace the options name (--workspace ID or --email OWNER), else the first one."""
    if options.get("workspace"):
        workspace = Workspace.objects.filter(pk=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"There is no workspace {options['workspace']}.")
        return workspace
    if options.get("email"):
        membership = (
            Membership.objects.filter(user__email__iexact=options["email"], role=Role.OWNER)
            .select_related("workspace")
            .order_by("pk")
            .first()
        )
        if membership is None:
            raise CommandError(f"{options['email']} owns no workspace.")
        return membership.workspace
    workspace = Workspace.objects.order_by("pk").first()
    if workspace is None:
        raise CommandError("There is no workspace yet: sign up or run manage.py demo_admin.")
    return workspace


def demo_target(options: dict[str, Any]) -> Workspace:
    """Where demo data goes: the named workspace, or the demo workspace of a user."""
    if options.get("workspace"):
        return workspace_from(options)
    if options.get("email"):
        owner = User.objects.filter(email__iexact=options["email"]).first()
        if owner is None:
            raise CommandError(f"There is no user {options['email']}.")
    else:
        owner = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if owner is None:
            raise CommandError(
                "Name the demo workspace's owner with --email (or run manage.py demo_admin)."
            )
    return demo_workspace_for(owner=owner)


def add_workspace_arguments(parser: CommandParser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--workspace", type=int, help="the workspace's id")
    which.add_argument("--email", help="the e-mail of the workspace's owner")


class Command(BaseCommand):
    help = "Demo recipients, lists, a segment, templates and a campaign, in a demo workspace."

    def add_arguments(self, parser: CommandParser) -> None:
        add_workspace_arguments(parser)
        parser.add_argument(
            "--recipients", type=int, default=200, help="how many demo recipients (200)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["recipients"] < 1:
            raise CommandError("--recipients must be at least 1.")
        workspace = demo_target(options)
        try:
            result = seed_demo(workspace=workspace, recipients=options["recipients"])
        except DemoRefused as exc:
            raise CommandError(
                f"{exc} Run it with --email YOUR_ADDRESS to make a demo workspace."
            ) from exc
        except CampaignError as exc:
            raise CommandError(f"The demo campaign could not start: {exc}") from exc
        # The messages are rendered now: their links keep this address.
        self.stdout.write(
            f"Links in the demo messages point to {site_url()} (SITE_URL sets the address)."
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Workspace “{workspace.name}” (id {workspace.pk}): "
                f"{result.recipients_added} recipients added; campaign “{result.campaign.name}” "
                f"is {result.campaign.get_status_display().lower()} with {result.sent} sent."
            )
        )
