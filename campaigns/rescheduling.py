"""Moving a scheduled campaign to another time, as the calendar does (by drag or its form).

The checks are those of the campaign form: the move goes through `editing.campaign_schedule`,
which refuses what the editor refuses (no template, no active account, a past time). This
module adds the calendar's own rules: only a scheduled campaign moves, and only into the future.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.editing import campaign_schedule
from campaigns.models import Campaign, CampaignStatus, ScheduleMode
from campaigns.services import CampaignNotReady, not_allowed_unless


def local_moment(day: date, at: time, campaign: Campaign) -> datetime:
    """`day` at `at` on the wall clock of the campaign's workspace."""
    return datetime.combine(day, at, tzinfo=campaign.workspace.zone)


@transaction.atomic
def campaign_reschedule(*, campaign: Campaign, starts_at: datetime) -> Campaign:
    """Move a scheduled campaign to start at `starts_at` (aware). A window keeps its length:
    its end moves by as much as its start.

    Raises CampaignError when the campaign is not scheduled (a running or finished one has
    its time already), when `starts_at` is not in the future, or with the campaign form's
    first problem at the new time.
    """
    campaign = Campaign.objects.select_for_update().select_related("workspace").get(pk=campaign.pk)
    not_allowed_unless(
        campaign,
        (CampaignStatus.SCHEDULED,),
        _("Only a scheduled campaign can be moved; this one is %(status)s.")
        % {"status": _(campaign.get_status_display()).lower()},
    )
    if starts_at <= timezone.now():
        raise CampaignNotReady(_("Choose a time in the future."))
    window_end = None
    if (
        campaign.schedule_mode == ScheduleMode.WINDOW
        and campaign.scheduled_at
        and campaign.window_end
    ):
        window_end = starts_at + (campaign.window_end - campaign.scheduled_at)
    return campaign_schedule(
        campaign=campaign,
        schedule_mode=campaign.schedule_mode,
        scheduled_at=starts_at,
        window_end=window_end,
    )
