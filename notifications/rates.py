"""A running campaign whose bounce or complaint rate is near the threshold that pauses it
(tracking.rules): told before the pause, so that someone can look at the list in time."""

from __future__ import annotations

from django.conf import settings

from tracking.rules import rates_of

# Near: past this share of the threshold, with at least as many messages as the pause needs.
NEAR_SHARE = 0.8


def near_limit(campaign_id: int) -> str:
    """Why the campaign's rates are near their pause threshold, or "" (in English, like the
    pause's own reason)."""
    taken, bounced, complained = rates_of(campaign_id)
    complaint_rate = float(settings.CAMPAIGN_PAUSE_COMPLAINT_RATE)
    if taken >= int(settings.CAMPAIGN_PAUSE_COMPLAINT_MIN_DELIVERIES) and complained > (
        NEAR_SHARE * complaint_rate * taken
    ):
        return (
            f"{complained} complaints in {taken} delivered messages ({complained / taken:.2%}); "
            f"the campaign pauses over {complaint_rate:.1%}."
        )
    bounce_rate = float(settings.CAMPAIGN_PAUSE_BOUNCE_RATE)
    if taken >= int(settings.CAMPAIGN_PAUSE_BOUNCE_MIN_DELIVERIES) and bounced > (
        NEAR_SHARE * bounce_rate * taken
    ):
        return (
            f"{bounced} bounces in {taken} delivered messages ({bounced / taken:.1%}); "
            f"the campaign pauses over {bounce_rate:.0%}."
        )
    return ""
