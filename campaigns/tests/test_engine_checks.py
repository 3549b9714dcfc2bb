"""While the queue is busy the engine looks at the campaigns' own changes (a scheduled one
coming due, a finished one completing) once per CHECK_SECONDS, not at every batch; a step
that empties the queue looks at once, so nothing waits on the throttle when there is time."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import WorkspaceFactory
from campaigns import editing, services
from campaigns.engine import step as engine_step
from campaigns.engine.step import Engine
from campaigns.models import Campaign, CampaignStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db

STARTED = {CampaignStatus.RUNNING, CampaignStatus.COMPLETED}  # its one message may be sent


@pytest.fixture
def finish_calls(monkeypatch):
    calls: list[int] = []
    real = services.campaigns_finish_done

    def counted(**kwargs):
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(engine_step, "campaigns_finish_done", counted)
    return calls


def busy_then_scheduled(personas, smtp_sink):
    """A running campaign of 12 (six batches of 2) and one scheduled, due in a second."""
    running = make_campaign(personas.workspace, smtp_sink, n=12)
    campaign_start(campaign=running.campaign)
    later = make_campaign(WorkspaceFactory.create(), smtp_sink, emails=["late@example.test"])
    editing.campaign_schedule(
        campaign=later.campaign,
        schedule_mode="at",
        scheduled_at=timezone.now() + timedelta(seconds=1),
    )
    return running.campaign, later.campaign


def test_a_busy_queue_is_checked_once_per_interval(
    personas, smtp_sink, monkeypatch, finish_calls, time_machine
):
    monkeypatch.setattr(engine_step, "CHECK_SECONDS", 3600.0)
    time_machine.move_to(timezone.now(), tick=False)
    _first, scheduled = busy_then_scheduled(personas, smtp_sink)
    time_machine.shift(timedelta(seconds=2))  # the scheduled one is due
    engine = Engine(batch_size=2)
    assert engine.step()  # the first step looks: it starts the scheduled campaign
    assert Campaign.objects.get(pk=scheduled.pk).status in STARTED
    steps = 1
    while engine.step():
        steps += 1
    # Looked at in the first step and in the last (which found the queue empty), not between.
    assert steps >= 5
    assert len(finish_calls) == 2
    assert set(Campaign.objects.values_list("status", flat=True)) == {CampaignStatus.COMPLETED}


def test_a_campaign_due_while_the_queue_is_busy_starts_at_the_next_check(
    personas, smtp_sink, monkeypatch, finish_calls, time_machine
):
    monkeypatch.setattr(engine_step, "CHECK_SECONDS", 3600.0)
    time_machine.move_to(timezone.now(), tick=False)
    first, scheduled = busy_then_scheduled(personas, smtp_sink)
    engine = Engine(batch_size=2)
    assert engine.step()  # not yet due
    time_machine.shift(timedelta(seconds=2))
    assert engine.step()
    assert Campaign.objects.get(pk=scheduled.pk).status == CampaignStatus.SCHEDULED

    monkeypatch.setattr(engine_step, "CHECK_SECONDS", 0.0)  # the interval has passed
    assert engine.step()
    assert Campaign.objects.get(pk=scheduled.pk).status in STARTED
    while engine.step():
        pass
    assert Campaign.objects.get(pk=scheduled.pk).status == CampaignStatus.COMPLETED
    assert Campaign.objects.get(pk=first.pk).status == CampaignStatus.COMPLETED
