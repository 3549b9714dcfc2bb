"""The events an endpoint can subscribe to, and the JSON each one carries.

Every request body is `{"events": [event, ...]}`, one shape for all types, where an event is

    {"id": "evt_…", "type": "delivery.sent", "created": "2026-11-21T08:00:00Z",
     "workspace_id": 7, "data": {…}}

`id` is stable (the same event sent twice has the same id), so receivers can deduplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from audience.models import Suppression
from campaigns.models import Attempt, AttemptOutcome, Campaign, DeliveryStatus

ALL = "*"
CAMPAIGN_STATUS_CHANGED = "campaign.status_changed"
RECIPIENT_UNSUBSCRIBED = "recipient.unsubscribed"
TEST = "webhook.test"

DELIVERY_TYPES: dict[str, str] = {
    "delivery.sent": "A server accepted the message.",
    "delivery.deferred": "A try failed for now (temporary error, server unreachable); "
    "it will be tried again.",
    "delivery.failed": "The message will not be sent: refused for good or out of tries.",
    "delivery.not_found": "The address does not exist; it is now suppressed.",
    "delivery.bounced": "The message bounced after it was accepted.",
    "delivery.complained": "The recipient marked the message as spam.",
    "delivery.suppressed": "Not sent: the address was suppressed when its turn came.",
}
EVENT_TYPES: dict[str, str] = {
    CAMPAIGN_STATUS_CHANGED: "A campaign was scheduled, unscheduled, started, paused, resumed, "
    "completed or cancelled.",
    **DELIVERY_TYPES,
    RECIPIENT_UNSUBSCRIBED: "A recipient unsubscribed.",
}

# What a campaign's action is called once done; `data.change` of campaign.status_changed.
CHANGES = {
    "schedule": "scheduled",
    "unschedule": "unscheduled",
    "start": "started",
    "pause": "paused",
    "resume": "resumed",
    "finish": "completed",
    "cancel": "cancelled",
}


def subscribes(events: Iterable[str], event_type: str) -> bool:
    chosen = set(events)
    return ALL in chosen or event_type in chosen


def wants_delivery_events(events: Iterable[str]) -> bool:
    return any(subscribes(events, t) for t in DELIVERY_TYPES)


def wants_recipient_events(events: Iterable[str]) -> bool:
    return subscribes(events, RECIPIENT_UNSUBSCRIBED)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def envelope(
    *, event_id: str, event_type: str, created: datetime, workspace_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": event_type,
        "created": iso(created),
        "workspace_id": workspace_id,
        "data": data,
    }


def campaign_status_changed(
    campaign: Campaign, *, previous: str, action: str, at: datetime
) -> dict[str, Any]:
    return envelope(
        event_id=f"evt_{uuid.uuid4().hex}",
        event_type=CAMPAIGN_STATUS_CHANGED,
        created=at,
        workspace_id=campaign.workspace_id,
        data={
            "campaign": {"id": campaign.pk, "name": campaign.name},
            "change": CHANGES.get(action, action),
            "status": campaign.status,
            "previous_status": previous,
            "reason": campaign.status_reason,
        },
    )


def delivery_event_type(attempt: Attempt, delivery_status: str, is_latest: bool) -> str:
    """What an attempt did to its delivery. The delivery's status settles the cases the
    attempt alone cannot tell: an address error (not_found) and the last of its tries."""
    outcome = attempt.outcome
    if outcome == AttemptOutcome.SENT:
        return "delivery.sent"
    if outcome == AttemptOutcome.SUPPRESSED:
        return "delivery.suppressed"
    if outcome == AttemptOutcome.PERMANENT:
        if delivery_status == DeliveryStatus.NOT_FOUND:
            return "delivery.not_found"
        return "delivery.failed"
    if is_latest and delivery_status in (DeliveryStatus.FAILED, DeliveryStatus.EXPIRED):
        return "delivery.failed"
    return "delivery.deferred"


def delivery_event(attempt: Attempt, delivery_status: str, is_latest: bool) -> dict[str, Any]:
    return envelope(
        event_id=f"evt_att_{attempt.pk}",
        event_type=delivery_event_type(attempt, delivery_status, is_latest),
        created=attempt.created_at,
        workspace_id=attempt.workspace_id,
        data={
            "delivery_id": attempt.delivery_id,
            "campaign_id": attempt.campaign_id,
            "email": attempt.email,
            "attempt_id": attempt.pk,
            "outcome": attempt.outcome,
            "smtp_code": attempt.smtp_code,
            "enhanced_code": attempt.enhanced_code,
            "reply": attempt.reply[:300],
            "message_id": attempt.message_id,
            "account_id": attempt.account_id,
        },
    )


def unsubscribed_event(suppression: Suppression) -> dict[str, Any]:
    return envelope(
        event_id=f"evt_sup_{suppression.pk}",
        event_type=RECIPIENT_UNSUBSCRIBED,
        created=suppression.created_at,
        workspace_id=suppression.workspace_id,
        data={"email": suppression.email, "source": suppression.source},
    )


def ping_event(*, workspace_id: int, at: datetime) -> dict[str, Any]:
    return envelope(
        event_id=f"evt_{uuid.uuid4().hex}",
        event_type=TEST,
        created=at,
        workspace_id=workspace_id,
        data={"message": "A test from Postroom: this endpoint is reachable and signed."},
    )


def summary_type(events: list[dict[str, Any]]) -> str:
    """The outbox row's event_type: the type, or the sorted types of a mixed batch."""
    return ",".join(sorted({e["type"] for e in events}))[:200]
