"""The A/B test's worker duty: when a test's wait is over, choose the winner by its figures
and send it to the rest of the audience (campaigns.ab_tests.ab_test_send_winner, which makes
it happen once however many workers run this)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from automation.ab_reports import variant_figures
from automation.ab_wait import wait_ends_at
from automation.statistics import leader
from campaigns.ab_tests import SENDS_TO_REST, ab_test_send_winner
from campaigns.models import AbTest, AbTestState, Variant
from campaigns.services import CampaignError

log = logging.getLogger(__name__)


def ab_tests_decide_due(*, now: datetime) -> int:
    """Send the winner of every test whose wait is over; returns how many were decided.
    A test decided meanwhile (by hand, or by another worker) is skipped."""
    testing = AbTest.objects.filter(
        state=AbTestState.TESTING,
        campaign__status__in=SENDS_TO_REST,
        campaign__launched_at__isnull=False,
    ).select_related("campaign")
    decided = 0
    for test in testing:
        launched = test.campaign.launched_at
        if launched is None or launched + timedelta(seconds=test.wait_seconds) > now:
            continue
        ends_at = wait_ends_at(test, now)  # later by the time the campaign spent paused
        if ends_at is None or ends_at > now:
            continue
        best = leader(variant_figures(test))
        winner = Variant.objects.get(campaign_id=test.campaign_id, position=best.position)
        try:
            created = ab_test_send_winner(campaign=test.campaign, variant=winner, now=now)
        except CampaignError as exc:  # stopped meanwhile: the test waits for a person
            log.info("A/B test of campaign %s not decided: %s", test.campaign_id, exc)
            continue
        if created is not None:
            decided += 1
            log.info(
                "A/B test of campaign %s: variant %s wins, %d more deliveries",
                test.campaign_id,
                winner.label,
                created,
            )
    return decided


def run_ab_test_step() -> bool:
    """The worker's duty: decide the due tests; never says more is waiting (each pass
    decides every due test)."""
    ab_tests_decide_due(now=timezone.now())
    return False
