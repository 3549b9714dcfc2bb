"""Fill a workspace with demo data and a finished campaign, so a new user sees a living app.

    manage.py seed_demo [--workspace ID | --email OWNER_EMAIL] [--recipients N]

Without --workspace or --email it uses the first workspace (the demo administrator's on a
fresh install). Running it again adds nothing twice.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Membership, Role, Workspace
from campaigns.demo import seed_demo
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


def add_workspace_arguments(parser: CommandParser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--workspace", type=int, help="the workspace's id")
    which.add_argument("--email", help="the e-mail of the workspace's owner")


class Command(BaseCommand):
    help = "Fill a workspace with demo recipients, lists, a segment, templates and a campaign."

    def add_arguments(self, parser: CommandParser) -> None:
        add_workspace_arguments(parser)
        parser.add_argument(
            "--recipients", type=int, default=200, help="how many demo recipients (200)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["recipients"] < 1:
            raise CommandError("--recipients must be at least 1.")
        workspace = workspace_from(options)
        try:
            result = seed_demo(workspace=workspace, recipients=options["recipients"])
        except CampaignError as exc:
            raise CommandError(f"The demo campaign could not start: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Workspace “{workspace.name}” (id {workspace.pk}): "
                f"{result.recipients_added} recipients added; campaign “{result.campaign.name}” "
                f"is {result.campaign.get_status_display().lower()} with {result.sent} sent."
            )
        )
