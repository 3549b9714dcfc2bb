"""Reads for tracking."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from accounts.models import Workspace
from audience.models import Recipient
from campaigns.models import Campaign
from tracking.models import BounceMailbox, Event, EventKind


def events_of(workspace: Workspace) -> QuerySet[Event]:
    return Event.objects.filter(workspace=workspace)


def person_events(*, workspace: Workspace, email: str) -> dict[str, Any]:
    """An address's events, for the privacy export (settings.RECIPIENT_DATA_PROVIDERS)."""
    address = email.strip().lower()  # as events keep it: read through their address index
    rows = events_of(workspace).filter(email=address).select_related("campaign")
    return {
        "events": [
            {
                "kind": event.kind,
                "occurred_at": event.occurred_at.isoformat(),
                "campaign": event.campaign.name if event.campaign else None,
                "source": event.source,
                "machine": event.machine,
                "link_index": event.link_index,
                "url": event.url,
                "bounce_type": event.bounce_type,
                "status_code": event.status_code,
                "detail": event.detail,
                "user_agent": event.user_agent,
                "ip": event.ip,
            }
            for event in rows
        ]
    }


def campaign_replies(workspace: Workspace, campaign: Campaign) -> QuerySet[Event]:
    """Replies found for the campaign's deliveries, newest first, each with `recipient_id`
    (the workspace's recipient of that address, None once erased) for its timeline."""
    recipient = Recipient.objects.filter(workspace=workspace, email=OuterRef("email"))
    return (
        events_of(workspace)
        .filter(campaign=campaign, kind=EventKind.REPLIED)
        .annotate(recipient_id=Subquery(recipient.values("pk")[:1]))
        .order_by("-occurred_at", "-id")
    )


def has_feedback_mailbox(workspace_id: int) -> bool:
    """Whether the workspace reads an enabled bounce mailbox (`campaigns.links` asks)."""
    return BounceMailbox.objects.filter(workspace_id=workspace_id, enabled=True).exists()


def human_events_exist(
    kinds: tuple[str, ...], campaign_id: int | None, since: datetime | None
) -> Exists:
    """EXISTS over the outer row's workspace and address: a human (not machine) event of one
    of `kinds`, in the campaign or since the time given (`audience.engagement` asks)."""
    events = Event.objects.filter(
        workspace_id=OuterRef("workspace_id"), email=OuterRef("email"), kind__in=kinds,
        machine=False,
    )  # fmt: skip
    if campaign_id is not None:
        events = events.filter(campaign_id=campaign_id)
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    return Exists(events)
