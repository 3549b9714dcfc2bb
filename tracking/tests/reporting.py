"""A sent campaign with known deliveries, for the report tests: events come through
`tracking.events.record`, as every source writes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import Workspace
from audience.models import Recipient
from campaigns.models import Campaign, CampaignStatus, Delivery
from campaigns.tests.factories import CampaignFactory, DeliveryFactory
from sending.models import SendingAccount
from tracking.events import Fact, record
from tracking.models import Event, EventKind, EventSource


@dataclass
class World:
    campaign: Campaign
    deliveries: dict[str, Delivery]
    start: datetime


def sent_world(workspace: Workspace, addresses: list[str], *, name: str = "Spring") -> World:
    # On the hour, so that "+1h05" falls in the chart's hour 1 at any time of day.
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    campaign = CampaignFactory.create(
        workspace=workspace,
        name=name,
        status=CampaignStatus.COMPLETED,
        launched_at=start,
        bare=True,
    )
    accounts = [
        SendingAccount.objects.create(
            workspace=workspace, name=f"Account {i}", from_email=f"news{i}@acme.test"
        )
        for i in (1, 2)
    ]
    deliveries = {}
    for i, email in enumerate(addresses):
        recipient, _ = Recipient.objects.get_or_create(workspace=workspace, email=email)
        deliveries[email] = DeliveryFactory.create(
            campaign=campaign,
            recipient=recipient,
            status="sent",
            sent_at=start,
            account=accounts[i % 2],
        )
    return World(campaign, deliveries, start)


def happened(delivery: Delivery, kind: EventKind, at: datetime, **fields: object) -> Event | None:
    source = fields.pop("source", EventSource.LINK)
    return record(
        Fact(kind=kind, source=source, occurred_at=at, **fields),  # type: ignore[arg-type]
        delivery=delivery,
    )
