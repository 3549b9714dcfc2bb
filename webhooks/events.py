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

from django.utils.translation import gettext_noop

from audience.models import Suppression
from campaigns.models import Attempt, AttemptOutcome, CampaignStatusChange, DeliveryStatus
from sending.models import AccountStatusChange
from tracking.models import Event as TrackingEvent
from tracking.models import EventKind

ALL = "*"
ACCOUNT_STATUS_CHANGED = "account.status_changed"
CAMPAIGN_STATUS_CHANGED = "campaign.status_changed"
RECIPIENT_UNSUBSCRIBED = "recipient.unsubscribed"
TEST = "webhook.test"

DELIVERY_TYPES: dict[str, str] = {
    "delivery.sent": gettext_noop("A server accepted the message."),
    "delivery.deferred": gettext_noop(
        "A try failed for now (temporary error, server unreachable); it will be tried again."
    ),
    "delivery.failed": gettext_noop(
        "The message will not be sent: refused for good or out of tries."
    ),
    "delivery.not_found": gettext_noop("The address does not exist; it is now suppressed."),
    "delivery.suppressed": gettext_noop("Not sent: the address was suppressed when its turn came."),
}
# What came back after sending: read from tracking's events (tracking.models.Event).
FEEDBACK_TYPES: dict[str, str] = {
    "delivery.bounced": gettext_noop(
        "The message bounced after it was accepted (data.bounce_type: hard or soft)."
    ),
    "delivery.complained": gettext_noop("The recipient marked the message as spam."),
    "delivery.opened": gettext_noop(
        "The message was opened (data.machine: true when a program such as a "
        "privacy proxy fetched it, not a person)."
    ),
    "delivery.clicked": gettext_noop(
        "A link of the message was followed (data.url; data.machine: true for a link scanner)."
    ),
    "delivery.replied": gettext_noop("The recipient replied (found in a bounce/reply mailbox)."),
}
# Tracking event kinds and the webhook type each one becomes; a delivered report of an
# e-mail service is not told (delivery.sent already says the server took it).
FEEDBACK_KINDS: dict[str, str] = {
    EventKind.BOUNCED: "delivery.bounced",
    EventKind.COMPLAINED: "delivery.complained",
    EventKind.OPENED: "delivery.opened",
    EventKind.CLICKED: "delivery.clicked",
    EventKind.REPLIED: "delivery.replied",
    EventKind.UNSUBSCRIBED: RECIPIENT_UNSUBSCRIBED,
}
EVENT_TYPES: dict[str, str] = {
    ACCOUNT_STATUS_CHANGED: gettext_noop(
        "A sending account changed status: went to error (its password or "
        "token was refused; nothing is sent through it until it is fixed), was activated, "
        "deactivated or sent back to pending."
    ),
    CAMPAIGN_STATUS_CHANGED: gettext_noop(
        "A campaign was scheduled, unscheduled, launching, started, "
        "paused, resumed, completed or cancelled, or its launch failed."
    ),
    **DELIVERY_TYPES,
    **FEEDBACK_TYPES,
    RECIPIENT_UNSUBSCRIBED: gettext_noop(
        "A recipient unsubscribed (by a message's link or one-click "
        "request, a mailbox or an e-mail service's report, or by hand)."
    ),
}

# What a campaign's action is called once done; `data.change` of campaign.status_changed.
CHANGES = {
    "schedule": "scheduled",
    "unschedule": "unscheduled",
    "start": "started",
    # Started from a page or the API: launching, then started once its deliveries exist (or
    # back to draft, with the reason, when the launch failed).
    "queue": "launching",
    "launched": "started",
    "launch_failed": "launch_failed",
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


def wants_feedback_events(events: Iterable[str]) -> bool:
    return any(subscribes(events, t) for t in FEEDBACK_KINDS.values())


def wants_account_events(events: Iterable[str]) -> bool:
    return subscribes(events, ACCOUNT_STATUS_CHANGED)


def wants_campaign_events(events: Iterable[str]) -> bool:
    return subscribes(events, CAMPAIGN_STATUS_CHANGED)


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


def campaign_status_changed(change: CampaignStatusChange) -> dict[str, Any]:
    return envelope(
        event_id=f"evt_{uuid.uuid4().hex}",
        event_type=CAMPAIGN_STATUS_CHANGED,
        created=change.created_at,
        workspace_id=change.workspace_id,
        data={
            "campaign": {"id": change.campaign_id, "name": change.campaign_name},
            "change": CHANGES.get(change.action, change.action),
            "status": change.status,
            "previous_status": change.previous_status,
            "reason": change.reason,
        },
    )


def account_status_changed(change: AccountStatusChange) -> dict[str, Any]:
    return envelope(
        event_id=f"evt_acc_{change.pk}",
        event_type=ACCOUNT_STATUS_CHANGED,
        created=change.created_at,
        workspace_id=change.workspace_id,
        data={
            "account": {
                "id": change.account_id,
                "name": change.account_name,
                "from_email": change.from_email,
            },
            "status": change.status,
            "previous_status": change.previous_status,
            "reason": change.reason[:300],
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


def feedback_event(event: TrackingEvent) -> dict[str, Any]:
    """A tracking event as a webhook event. Machine opens and clicks are told, marked
    `machine`: they are facts (an Apple MPP open says the message reached Apple Mail), and
    the receiver decides what to count; Postroom's own reports count them apart likewise."""
    data: dict[str, Any] = {
        "event_id": event.pk,
        "delivery_id": event.delivery_id,
        "campaign_id": event.campaign_id,
        "email": event.email,
        "occurred_at": iso(event.occurred_at),
        "source": event.source,
        "source_detail": event.source_detail,
    }
    kind = event.kind
    if kind == EventKind.BOUNCED:
        data |= {
            "bounce_type": event.bounce_type or "hard",
            "status_code": event.status_code,
            "diagnostic": event.detail[:300],
        }
    elif kind == EventKind.COMPLAINED:
        data["feedback_type"] = event.detail[:100] or "abuse"
    elif kind in (EventKind.OPENED, EventKind.CLICKED):
        data["machine"] = event.machine
        if kind == EventKind.CLICKED:
            data |= {"link_index": event.link_index, "url": event.url}
    elif kind == EventKind.REPLIED:
        # `sender`: who wrote the reply, which need not be the address the message went to.
        data |= {"snippet": event.detail[:300], "sender": event.sender or event.email}
    return envelope(
        event_id=f"evt_trk_{event.pk}",
        event_type=FEEDBACK_KINDS[kind],
        created=event.created_at,
        workspace_id=event.workspace_id,
        data=data,
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
