"""The test factories keep every related row in one workspace, and refuse to mix tenants."""

from __future__ import annotations

import pytest

from audience.tests.factories import (
    ListMembershipFactory,
    RecipientFactory,
    RecipientListFactory,
)
from campaigns.tests.factories import CampaignFactory, DeliveryFactory
from content.models import Template
from content.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


def test_a_campaign_gets_a_template_a_list_and_an_account_of_its_workspace():
    campaign = CampaignFactory.create()
    assert Template.objects.get(pk=campaign.template_id or 0).workspace == campaign.workspace
    assert campaign.lists.get().workspace == campaign.workspace
    assert campaign.accounts.get().workspace == campaign.workspace


def test_a_bare_campaign_has_no_template_list_or_account():
    campaign = CampaignFactory.create(bare=True)
    assert campaign.template_id is None
    assert not campaign.lists.exists()
    assert not campaign.accounts.exists()
    assert not Template.objects.exists()


def test_given_parts_replace_the_defaults():
    campaign = CampaignFactory.create()
    template = TemplateFactory.create(workspace=campaign.workspace)
    people = RecipientListFactory.create(workspace=campaign.workspace)
    other = CampaignFactory.create(
        workspace=campaign.workspace, template=template, lists=[people], accounts=[]
    )
    assert other.template_id == template.pk
    assert list(other.lists.all()) == [people]
    assert not other.accounts.exists()


def test_a_delivery_goes_to_a_recipient_of_its_campaigns_workspace():
    delivery = DeliveryFactory.create(address="ann@example.test")
    assert delivery.recipient is not None
    assert delivery.workspace == delivery.campaign.workspace == delivery.recipient.workspace
    assert delivery.email == delivery.recipient.email == "ann@example.test"
    ann = RecipientFactory.create(workspace=delivery.workspace)
    assert DeliveryFactory.create(campaign=delivery.campaign, recipient=ann).email == ann.email
    gone = DeliveryFactory.create(campaign=delivery.campaign, recipient=None, email="x@e.test")
    assert gone.recipient is None
    assert gone.email == "x@e.test"


def test_a_list_takes_members_of_its_workspace():
    people = RecipientListFactory.create()
    ann = RecipientFactory.create(workspace=people.workspace)
    members = RecipientListFactory.create(workspace=people.workspace, members=[ann])
    assert list(members.recipients.all()) == [ann]
    joined = ListMembershipFactory.create(recipient_list=people).recipient
    assert joined.workspace == people.workspace


def test_rows_of_another_workspace_are_refused():
    campaign = CampaignFactory.create()
    stranger = RecipientFactory.create()
    with pytest.raises(ValueError, match="mixes workspaces"):
        DeliveryFactory.create(campaign=campaign, recipient=stranger)
    with pytest.raises(ValueError, match="lists of another workspace"):
        CampaignFactory.create(workspace=campaign.workspace, lists=[RecipientListFactory.create()])
    with pytest.raises(ValueError, match="another workspace"):
        RecipientListFactory.create(workspace=campaign.workspace, members=[stranger])
    with pytest.raises(ValueError, match="not of list"):
        ListMembershipFactory.create(recipient_list=campaign.lists.get(), recipient=stranger)
