"""A refusal says its kind: the state does not allow the action (CampaignNotAllowed, with the
state that refused) or the campaign is not ready for it (CampaignNotReady). Callers, the API's
409 against 400 among them, read the kind instead of the campaign again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import WorkspaceFactory
from campaigns import editing, services
from campaigns.models import Campaign, CampaignStatus, CampaignStatusChange
from campaigns.services import CampaignNotAllowed, CampaignNotReady
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(smtp_sink):
    setup = make_campaign(WorkspaceFactory.create(), smtp_sink, n=2)
    services.campaign_start(campaign=setup.campaign)
    return Campaign.objects.get(pk=setup.campaign.pk)


@pytest.mark.parametrize(
    "act",
    [
        lambda c: services.campaign_start(campaign=c),
        lambda c: services.campaign_resume(campaign=c),
        lambda c: editing.campaign_start_as_planned(campaign=c),
        lambda c: editing.campaign_update(campaign=c, data=editing.campaign_data(c)),
        lambda c: editing.campaign_unschedule(campaign=c),
        lambda c: editing.campaign_delete(campaign=c),
        lambda c: editing.campaign_schedule(
            campaign=c, schedule_mode="at", scheduled_at=timezone.now()
        ),
    ],
    ids=["start", "resume", "start_as_planned", "update", "unschedule", "delete", "schedule"],
)
def test_a_running_campaign_refuses_as_not_allowed_naming_its_state(running, act):
    with pytest.raises(CampaignNotAllowed) as refused:
        act(running)
    assert refused.value.status == CampaignStatus.RUNNING
    assert Campaign.objects.get(pk=running.pk).status == CampaignStatus.RUNNING


def test_a_draft_without_template_is_not_ready(smtp_sink):
    setup = make_campaign(WorkspaceFactory.create(), smtp_sink, n=1)
    Campaign.objects.filter(pk=setup.campaign.pk).update(template_id=None)
    with pytest.raises(CampaignNotReady, match="Choose a template first"):
        services.campaign_queue_launch(campaign=setup.campaign)
    assert Campaign.objects.get(pk=setup.campaign.pk).status == CampaignStatus.DRAFT


def test_a_draft_without_account_is_not_ready(smtp_sink):
    setup = make_campaign(WorkspaceFactory.create(), smtp_sink, n=1)
    setup.campaign.accounts.clear()
    with pytest.raises(CampaignNotReady, match="sending account"):
        services.campaign_start(campaign=setup.campaign)


def test_a_time_in_the_past_is_not_ready(smtp_sink):
    setup = make_campaign(WorkspaceFactory.create(), smtp_sink, n=1)
    past = timezone.now() - timedelta(hours=1)
    with pytest.raises(CampaignNotReady):
        editing.campaign_schedule(campaign=setup.campaign, schedule_mode="at", scheduled_at=past)
    assert Campaign.objects.get(pk=setup.campaign.pk).status == CampaignStatus.DRAFT


def test_every_status_change_is_saved_with_its_time_and_told_once(smtp_sink):
    """Scheduling and unscheduling go through the same mover as start and pause: the time of
    the change is saved, and the outbox hears each change once."""
    setup = make_campaign(WorkspaceFactory.create(), smtp_sink, n=1)
    later = timezone.now() + timedelta(days=1)
    editing.campaign_schedule(campaign=setup.campaign, schedule_mode="at", scheduled_at=later)
    editing.campaign_unschedule(campaign=setup.campaign)
    changes = CampaignStatusChange.objects.filter(campaign=setup.campaign).order_by("pk")
    assert [(c.previous_status, c.status) for c in changes] == [
        (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED),
        (CampaignStatus.SCHEDULED, CampaignStatus.DRAFT),
    ]
    assert Campaign.objects.get(pk=setup.campaign.pk).status_changed_at is not None
