"""Facts made through the services, as the engine, a worker or a person makes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.utils import timezone

from audience import jobs
from audience.models import AudienceJob
from audience.tests.factories import SegmentFactory
from audience.tests.helpers import import_csv, start, upload
from campaigns.engine.step import Engine
from campaigns.models import Campaign, CampaignStatus
from campaigns.services import campaign_pause, campaign_queue_launch, campaign_start
from campaigns.tests.conftest import Setup, make_campaign
from notifications.collect import collect
from webhooks.dispatch import run_webhook_step
from webhooks.models import Endpoint
from webhooks.tests.factories import make_endpoint


def pass_once() -> None:
    collect(now=timezone.now())


def running_campaign(workspace: Any, sink: Any, name: str, prefix: str) -> Setup:
    emails = [f"{prefix}{i}@example.test" for i in range(2)]
    setup = make_campaign(workspace, sink, emails=emails)
    Campaign.objects.filter(pk=setup.campaign.pk).update(name=name)
    setup.campaign.refresh_from_db()
    campaign_start(campaign=setup.campaign)
    return setup


def paused_by_engine(workspace: Any, sink: Any, name: str = "Spring") -> Campaign:
    """Paused with a reason, through the service the engine and tracking's rate rule call."""
    setup = running_campaign(workspace, sink, name, "paused")
    campaign_pause(campaign=setup.campaign, reason="Paused: 30 bounces in 300 delivered messages.")
    return setup.campaign


def finished(workspace: Any, sink: Any) -> Campaign:
    setup = running_campaign(workspace, sink, "Summer", "finished")
    engine = Engine()
    for _ in range(10):
        engine.step()
        setup.campaign.refresh_from_db()
        if setup.campaign.status == CampaignStatus.COMPLETED:
            break
    assert setup.campaign.status == CampaignStatus.COMPLETED
    return setup.campaign


def failed_to_start(workspace: Any, sink: Any) -> Campaign:
    setup = make_campaign(workspace, sink, emails=["launch@example.test"])
    segment = SegmentFactory.create(workspace=workspace, name="Gold", definition={})
    setup.campaign.segments.add(segment)
    campaign_queue_launch(campaign=setup.campaign)
    segment.definition = {"conditions": [{"field": "field:plan", "op": "equals", "value": "g"}]}
    segment.save(update_fields=["definition"])
    Engine().step()
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.DRAFT
    return setup.campaign


def import_done(workspace: Any) -> AudienceJob:
    return import_csv(workspace, "email\nnew@example.test\n")


def import_failed(workspace: Any) -> AudienceJob:
    job = upload(workspace, "email\na@example.test\n", name="broken.csv")
    with Path(job.params["path"]).open("ab") as stored:  # broken on disk after the upload
        stored.write(b"\xe9\xe9@example.com\n")
    start(job, ["email"])
    assert jobs.run_next_job()
    job.refresh_from_db()
    return job


def webhook_turned_off(workspace: Any, receiver: Any, settings: Any) -> Endpoint:
    from webhooks.tests.test_retries import queue_pings

    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 0
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    endpoint = make_endpoint(workspace, receiver.url)
    queue_pings(endpoint, 1)
    receiver.default = 500
    run_webhook_step()
    run_webhook_step()
    endpoint.refresh_from_db()
    assert not endpoint.active
    return endpoint
