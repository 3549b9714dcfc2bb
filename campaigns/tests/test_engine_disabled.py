"""A campaign a platform manager disables sends nothing more, through the real SMTP test
server: at least as strongly as a pause (the claim and the batch's status check both honour
it), and even if it were running (disabled while it was launching)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from campaigns import platform
from campaigns.engine.claim import claim
from campaigns.engine.step import Engine
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import (
    campaign_queue_launch,
    campaign_resume,
    campaign_start,
    campaigns_launch_queued,
)
from campaigns.tests.conftest import make_campaign
from campaigns.tests.test_engine_send import run_until_idle

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)  # the disable is made on the sink's thread, meanwhile
def test_disable_stops_new_messages_within_the_batch_until_enabled(personas, smtp_sink, settings):
    settings.DELIVERY_STATUS_CHECK_SECONDS = 0  # looked at before each message
    manager = UserFactory.create(email="manager@platform.test")
    setup = make_campaign(personas.workspace, smtp_sink, n=6)
    campaign_start(campaign=setup.campaign)
    sent_before = 2
    engine = Engine(batch_size=6)

    def disable_at_the_second(message):
        # A manager disables while the server takes the second message, before it answers.
        if len(smtp_sink.messages) == sent_before:
            platform.campaign_disable(campaign=setup.campaign, by=manager, reason="Spam reports")

    smtp_sink.on_message(disable_at_the_second, times=sent_before)
    engine.step()
    assert len(smtp_sink.messages) == sent_before
    statuses = sorted(Delivery.objects.values_list("status", flat=True))
    assert statuses.count(DeliveryStatus.SENT) == 2
    assert statuses.count(DeliveryStatus.QUEUED) == 4
    run_until_idle(engine)
    assert len(smtp_sink.messages) == sent_before  # nothing more, however long it runs

    platform.campaign_enable(campaign=setup.campaign, by=manager)
    run_until_idle(engine)
    assert len(smtp_sink.messages) == sent_before  # enabled, but still paused: its owner's call
    campaign_resume(campaign=setup.campaign)
    run_until_idle(engine)
    assert len({m.rcpt_tos[0] for m in smtp_sink.messages}) == 6
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.COMPLETED


def test_the_engine_claims_nothing_of_a_disabled_campaign_even_if_running(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    campaign_start(campaign=setup.campaign)
    Campaign.objects.filter(pk=setup.campaign.pk).update(
        disabled_at=timezone.now(), disabled_reason="Spam"
    )
    now = timezone.now()
    assert claim(worker="w", limit=10, now=now, lease=timedelta(minutes=1)) == []
    run_until_idle(Engine())
    assert smtp_sink.messages == []


def test_a_campaign_disabled_while_launching_is_paused_once_launched(personas, smtp_sink):
    manager = UserFactory.create(email="manager@platform.test")
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    campaign_queue_launch(campaign=setup.campaign)
    platform.campaign_disable(campaign=setup.campaign, by=manager, reason="Spam")
    assert campaigns_launch_queued(now=timezone.now()) == 1
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.PAUSED
    assert setup.campaign.status_reason == "Spam"
    assert setup.campaign.deliveries.count() == 3
    run_until_idle(Engine())
    assert smtp_sink.messages == []
