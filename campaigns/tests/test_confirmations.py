"""Deleting or cancelling a campaign asks first, without JavaScript, saying what will be lost."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Attempt, Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaigns_launch_queued
from campaigns.tests.factories import CampaignFactory
from campaigns.tests.test_views_campaigns import form_data, make_world, run_engine

pytestmark = pytest.mark.django_db


def _started(personas, client, *, run: bool) -> Campaign:
    world = make_world(personas.workspace)
    client.post(reverse("campaigns:create"), form_data(world))
    campaign = Campaign.objects.get()
    client.post(reverse("campaigns:start", kwargs={"campaign_id": campaign.pk}))
    campaigns_launch_queued(now=timezone.now())  # the worker's launch
    if run:
        run_engine()
    return campaign


def test_deleting_a_campaign_asks_first_and_names_its_report(personas, owner_client):
    campaign = _started(personas, owner_client, run=True)
    deliveries, attempts = Delivery.objects.count(), Attempt.objects.count()
    assert deliveries
    assert attempts
    url = reverse("campaigns:delete", kwargs={"campaign_id": campaign.pk})

    first = owner_client.post(url)
    assert first.status_code == 200
    page = first.content.decode()
    assert f"its report: {deliveries} deliveries and {attempts} attempts" in page
    assert 'name="confirmed" value="yes"' in page
    assert Campaign.objects.filter(pk=campaign.pk).exists()  # nothing deleted yet
    assert Delivery.objects.count() == deliveries

    # A GET (a link, a crawler) changes nothing either.
    assert owner_client.get(url).status_code == 405
    confirmed = owner_client.post(url, {"confirmed": "yes"})
    assert confirmed["Location"] == reverse("campaigns:index")
    assert not Campaign.objects.exists()


def test_cancelling_asks_first_and_says_what_will_not_be_sent(personas, owner_client):
    campaign = _started(personas, owner_client, run=False)
    waiting = Delivery.objects.filter(status=DeliveryStatus.QUEUED).count()
    assert waiting
    url = reverse("campaigns:cancel", kwargs={"campaign_id": campaign.pk})

    page = owner_client.post(url).content.decode()
    assert f"{waiting} messages still waiting will not be sent" in page
    assert "0 messages already sent stay sent" in page
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    assert not Delivery.objects.filter(status=DeliveryStatus.CANCELLED).exists()

    owner_client.post(url, {"confirmed": "yes"})
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert Delivery.objects.filter(status=DeliveryStatus.CANCELLED).count() == waiting


def test_the_confirmation_form_posts_back_to_the_same_action(personas, owner_client):
    campaign = _started(personas, owner_client, run=False)
    url = reverse("campaigns:cancel", kwargs={"campaign_id": campaign.pk})
    page = owner_client.post(url).content.decode()
    assert f'action="{url}"' in page
    assert reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk}) in page  # keep it


def test_cancelling_a_campaign_not_started_yet_says_nothing_will_be_sent(personas, owner_client):
    campaign = CampaignFactory.create(
        workspace=personas.workspace, name="Later", status=CampaignStatus.SCHEDULED, bare=True
    )
    url = reverse("campaigns:cancel", kwargs={"campaign_id": campaign.pk})
    page = owner_client.post(url).content.decode()
    assert "It has not started: nothing will be sent." in page
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    owner_client.post(url, {"confirmed": "yes"})
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
