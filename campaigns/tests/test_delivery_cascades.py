"""Deliveries keep no database constraint on their campaign and workspace (a launch would check
each of a million rows against the one row it holds locked): deleting either still takes
every delivery and attempt with it, and deleting an account or a recipient leaves the history
with the account or person unset, as before."""

from __future__ import annotations

import pytest

from accounts.models import Workspace
from campaigns.editing import campaign_delete
from campaigns.models import Attempt, AttemptOutcome, Campaign, CampaignStatus, Delivery
from campaigns.tests.factories import CampaignFactory, DeliveryFactory
from sending.services import account_delete

pytestmark = pytest.mark.django_db


def _sent(campaign: Campaign, n: int) -> list[Delivery]:
    account = campaign.accounts.get()
    rows = []
    for _ in range(n):
        delivery = DeliveryFactory.create(campaign=campaign, account=account)
        Attempt.objects.create(
            workspace=campaign.workspace,
            campaign=campaign,
            delivery=delivery,
            account=account,
            email=delivery.email,
            outcome=AttemptOutcome.SENT,
        )
        rows.append(delivery)
    return rows


def test_deleting_a_campaign_deletes_its_deliveries_and_attempts():
    campaign = CampaignFactory.create(status=CampaignStatus.COMPLETED)
    other = CampaignFactory.create(workspace=campaign.workspace, status=CampaignStatus.COMPLETED)
    _sent(campaign, 3)
    kept = _sent(other, 2)
    campaign_delete(campaign=campaign)
    assert list(Delivery.objects.order_by("pk")) == kept
    assert Attempt.objects.filter(campaign_id=campaign.pk).count() == 0
    assert Attempt.objects.count() == 2


def test_deleting_a_workspace_leaves_no_delivery_behind():
    campaign = CampaignFactory.create(status=CampaignStatus.COMPLETED)
    elsewhere = _sent(CampaignFactory.create(status=CampaignStatus.COMPLETED), 1)
    _sent(campaign, 3)
    Workspace.objects.filter(pk=campaign.workspace_id).get().delete()
    assert list(Delivery.objects.all()) == elsewhere
    assert Attempt.objects.count() == 1


def test_deleting_an_account_or_a_recipient_keeps_the_history():
    campaign = CampaignFactory.create(status=CampaignStatus.COMPLETED)
    first, second = _sent(campaign, 2)
    account = campaign.accounts.get()
    assert first.account_id == account.pk
    account_delete(account=account)
    assert second.recipient is not None
    second.recipient.delete()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.account_id is None
    assert second.account_id is None
    assert second.recipient_id is None
    assert first.recipient_id is not None
    assert Attempt.objects.filter(campaign=campaign).count() == 2
