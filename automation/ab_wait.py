"""When an A/B test's wait ends: its hours after the launch, plus the time the campaign spent
paused since. A pause holds the test as it holds sending, so a person who pauses a campaign
does not come back to a winner chosen meanwhile, nor to a wait already over."""

from __future__ import annotations

from datetime import datetime, timedelta

from campaigns.models import AbTest, CampaignStatus, CampaignStatusChange


def wait_ends_at(test: AbTest, now: datetime) -> datetime | None:
    """When the test's wait ends, as far as is known at `now` (a campaign paused now: its
    pause counts until `now`); None before the launch."""
    launched = test.campaign.launched_at
    if launched is None:
        return None
    return (
        launched
        + timedelta(seconds=test.wait_seconds)
        + paused_between(test.campaign_id, launched, now)
    )


def paused_between(campaign_id: int, since: datetime, now: datetime) -> timedelta:
    """How long the campaign was paused between `since` and `now`, from its status changes
    (still paused: until `now`)."""
    changes = CampaignStatusChange.objects.filter(
        campaign_id=campaign_id, created_at__gte=since, created_at__lte=now
    ).order_by("created_at", "pk")
    paused = timedelta()
    paused_at: datetime | None = None
    for status, at in changes.values_list("status", "created_at"):
        if status == CampaignStatus.PAUSED and paused_at is None:
            paused_at = at
        elif status != CampaignStatus.PAUSED and paused_at is not None:
            paused += at - paused_at
            paused_at = None
    if paused_at is not None:
        paused += now - paused_at
    return paused
