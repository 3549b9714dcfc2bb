"""A person chooses the A/B test's winner (the report's button, the API's action)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.ab_tests import ab_test_send_winner
from campaigns.models import AbTest, Variant
from campaigns.services import CampaignNotAllowed, CampaignNotReady


def ab_test_choose_by_hand(*, test: AbTest, position: int) -> int:
    """Send the variant at `position` to the rest of the audience now; returns how many
    deliveries were created. Raises CampaignError when there is no such variant, the winner
    was chosen already, or the campaign is not running or paused."""
    variant = Variant.objects.filter(campaign_id=test.campaign_id, position=position).first()
    if variant is None:
        raise CampaignNotReady(_("This campaign has no such A/B test variant."))
    created = ab_test_send_winner(
        campaign=test.campaign, variant=variant, now=timezone.now(), by_hand=True
    )
    if created is None:
        raise CampaignNotAllowed(
            _("The winner of this A/B test has been chosen already."), status=test.state
        )
    return created
