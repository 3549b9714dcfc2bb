"""Act on a campaign from the shell: `manage.py campaign {start,pause,resume,cancel} ID`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns import dashboard, editing, services
from campaigns.models import Campaign
from campaigns.reasons import PAUSED_BY_COMMAND
from core.reasons import reason

ACTIONS: dict[str, Callable[[Campaign], object]] = {
    # From the shell the launch runs here: the command says when the campaign is running.
    "start": lambda c: editing.campaign_start_as_planned(campaign=c, wait=True),
    "pause": lambda c: services.campaign_pause(campaign=c, reason=reason(PAUSED_BY_COMMAND)),
    "resume": lambda c: services.campaign_resume(campaign=c),
    "cancel": lambda c: services.campaign_cancel(campaign=c),
}


class Command(BaseCommand):
    help = "Start (or schedule), pause, resume or cancel a campaign by its id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=sorted(ACTIONS))
        parser.add_argument("campaign_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = Campaign.objects.filter(pk=options["campaign_id"]).first()
        if campaign is None:
            raise CommandError(f"There is no campaign {options['campaign_id']}.")
        try:
            ACTIONS[options["action"]](campaign)
        except services.CampaignError as exc:
            raise CommandError(str(exc)) from exc
        dashboard.invalidate(campaign.workspace_id)
        campaign.refresh_from_db()
        self.stdout.write(
            f"Campaign {campaign.pk} “{campaign.name}” is now "
            f"{campaign.get_status_display().lower()}."
        )
