"""Foreign objects of campaigns for the tenancy walker (postroom/tests/test_tenancy.py).

The campaign is running with one queued delivery and one attempt, and an A/B test in its
testing phase, so that every page and every action (send now, choosing the A/B test's winner
included) would have something to show or change if it leaked. It was launched now, so that
the calendar's default month shows it on today if it leaked there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone

from audience.models import Recipient
from campaigns.models import (
    AbTest,
    AbTestKind,
    AbTestState,
    Attempt,
    Campaign,
    CampaignStatus,
    Delivery,
    Variant,
)

Provider = Callable[[Any], Any]


def _campaign(foreign: Any) -> Campaign:
    campaign = Campaign.objects.filter(workspace=foreign.workspace, name="foreignmark").first()
    if campaign is None:
        campaign = Campaign.objects.create(
            workspace=foreign.workspace,
            name="foreignmark",
            status=CampaignStatus.RUNNING,
            launched_at=timezone.now(),
        )
        AbTest.objects.create(
            workspace=foreign.workspace,
            campaign=campaign,
            kind=AbTestKind.SUBJECT,
            state=AbTestState.TESTING,
        )
        Variant.objects.bulk_create(
            Variant(workspace=foreign.workspace, campaign=campaign, position=i, value=value)
            for i, value in enumerate(("foreignmark A", "foreignmark B"))
        )
    return campaign


def _delivery(foreign: Any) -> Delivery:
    campaign = _campaign(foreign)
    delivery = Delivery.objects.filter(campaign=campaign).first()
    if delivery is None:
        recipient, _ = Recipient.objects.get_or_create(
            workspace=foreign.workspace, email="foreignmark-campaign@example.test"
        )
        delivery = Delivery.objects.create(
            workspace=foreign.workspace,
            campaign=campaign,
            recipient=recipient,
            email=recipient.email,
        )
        Attempt.objects.create(
            workspace=foreign.workspace,
            campaign=campaign,
            delivery=delivery,
            email=recipient.email,
            outcome="temporary",
            reply="451 foreignmark",
        )
    return delivery


PROVIDERS: dict[str, Provider] = {
    "campaign_id": lambda foreign: _campaign(foreign).pk,
    "delivery_id": lambda foreign: _delivery(foreign).pk,
    "attempt_id": lambda foreign: Attempt.objects.get(delivery=_delivery(foreign)).pk,
}
