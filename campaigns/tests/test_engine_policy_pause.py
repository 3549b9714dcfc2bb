"""The pause after policy refusals (5.7.x) stops the batch where the threshold is crossed."""

from collections import Counter

import pytest

from campaigns.engine.step import Engine
from campaigns.models import Attempt, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("pipelined", [True, False])
def test_the_batch_stops_when_the_policy_refusals_cross_the_threshold(
    personas, smtp_sink, settings, pipelined
):
    settings.CAMPAIGN_PAUSE_POLICY_REFUSALS = 20
    settings.CAMPAIGN_PAUSE_POLICY_SHARE = 0.1
    settings.SENDING_CONNECTIONS_PER_ACCOUNT = 3
    if pipelined:
        smtp_sink.offer_pipelining()
    # Only the engine's own decision may stop the batch: the campaign is not re-read.
    settings.DELIVERY_STATUS_CHECK_SECONDS = 3600
    # Every recipient refuses as policy: the 20th refusal crosses both thresholds, in
    # whatever order the batch comes.
    emails = [f"policy+{i}@example.test" for i in range(500)]
    setup = make_campaign(personas.workspace, smtp_sink, emails=emails)
    campaign_start(campaign=setup.campaign)
    Engine(batch_size=500).step()
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.PAUSED
    refused = [r for r in smtp_sink.refusals if r.reply.startswith("554 5.7")]
    # The threshold, plus what was already on the wire on the other connections.
    bound = 20 + (settings.SENDING_CONNECTIONS_PER_ACCOUNT if pipelined else 0)
    assert 20 <= len(refused) <= bound
    assert Attempt.objects.filter(enhanced_code__startswith="5.7").count() == len(refused)
    statuses = Counter(Delivery.objects.values_list("status", flat=True))
    assert statuses[DeliveryStatus.QUEUED] >= 500 - 2 * bound  # the rest waits for a person
    assert statuses[DeliveryStatus.SENDING] == 0
