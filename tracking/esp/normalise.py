"""An anymail tracking event as the `Fact` Postroom records: which kind, hard or soft, which
status code. Anymail normalises the event types; whether a bounce is hard or soft, and its
RFC 3463 code, are read from each service's own payload, since anymail leaves them there."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType  # type: ignore[import-untyped]

from sending.models import EspProvider
from tracking.events import Fact
from tracking.models import BounceType, EventKind, EventSource

KINDS = {
    EventType.DELIVERED: EventKind.DELIVERED,
    EventType.COMPLAINED: EventKind.COMPLAINED,
    EventType.OPENED: EventKind.OPENED,
    EventType.CLICKED: EventKind.CLICKED,
    EventType.UNSUBSCRIBED: EventKind.UNSUBSCRIBED,
}
STATUS_CODE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
HARD, SOFT, DELAY = BounceType.HARD, BounceType.SOFT, ""


def fact_of(provider: str, event: AnymailTrackingEvent) -> Fact | None:
    """The fact `event` tells, or None when it tells nothing Postroom keeps (queued, sent,
    a delay: a message the service still tries to deliver changes nothing)."""
    bounce_type = ""
    if event.event_type in (EventType.BOUNCED, EventType.DEFERRED):
        bounce_type = _bounce_type(provider, event)
        if not bounce_type:
            return None
        kind = EventKind.BOUNCED
    elif event.event_type in KINDS:
        kind = KINDS[event.event_type]
    else:
        return None
    detail = event.mta_response or event.description or ""
    return Fact(
        kind=kind,
        source=EventSource.ESP,
        email=(event.recipient or "").strip(),
        bounce_type=bounce_type,
        status_code=_status_code(provider, event) if kind == EventKind.BOUNCED else "",
        detail=str(detail),
        url=str(event.click_url or "") if kind == EventKind.CLICKED else "",
        source_detail=provider,
        user_agent=str(event.user_agent or ""),
        dedupe_key=dedupe_key(provider, event),
        occurred_at=event.timestamp,
    )


def dedupe_key(provider: str, event: AnymailTrackingEvent) -> str:
    """Service + the service's event id (+ the recipient: one SES notification covers each
    recipient of a message). Services without event ids (Brevo, Postmark's opens) are keyed
    by the whole payload, which carries the event's own time."""
    event_id = (
        event.event_id
        or hashlib.sha256(
            json.dumps(event.esp_event, sort_keys=True, default=str).encode()
        ).hexdigest()
    )
    key = f"esp:{provider}:{event_id}:{(event.recipient or '').lower()}"
    if len(key) > 200:
        key = f"esp:{provider}:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _bounce_type(provider: str, event: AnymailTrackingEvent) -> str:
    raw: dict[str, Any] = event.esp_event if isinstance(event.esp_event, dict) else {}
    deferred = event.event_type == EventType.DEFERRED
    if provider == EspProvider.AMAZON_SES:
        if deferred:
            return DELAY  # DeliveryDelay
        return HARD if raw.get("bounce", {}).get("bounceType") == "Permanent" else SOFT
    if provider == EspProvider.SENDGRID:
        if deferred:
            return DELAY
        return SOFT if raw.get("type") == "blocked" else HARD  # SendGrid's soft bounce
    if provider == EspProvider.MAILGUN:
        # A "failed" event: permanent, or temporary (the receiver said 4xx; anymail calls
        # that deferred, but the message did bounce).
        data = raw.get("event-data", raw)
        severity = data.get("severity")
        if severity == "temporary":
            return SOFT
        return DELAY if deferred else HARD
    if provider == EspProvider.POSTMARK:
        if deferred:
            return DELAY  # Transient, DnsError: Postmark still tries
        return HARD if raw.get("Type") in ("HardBounce", "BadEmailAddress") else SOFT
    if provider == EspProvider.BREVO:
        if deferred:
            return DELAY
        return SOFT if raw.get("event") == "soft_bounce" else HARD
    return DELAY if deferred else HARD


def _status_code(provider: str, event: AnymailTrackingEvent) -> str:
    raw: dict[str, Any] = event.esp_event if isinstance(event.esp_event, dict) else {}
    code = ""
    if provider == EspProvider.AMAZON_SES:
        for bounced in raw.get("bounce", {}).get("bouncedRecipients", []):
            if str(bounced.get("emailAddress", "")).lower() == (event.recipient or "").lower():
                code = str(bounced.get("status") or "")
    elif provider == EspProvider.SENDGRID:
        code = str(raw.get("status") or "")
    elif provider == EspProvider.MAILGUN:
        status = raw.get("event-data", raw).get("delivery-status", {})
        code = str(status.get("enhanced-code") or "")
    if STATUS_CODE.fullmatch(code):
        return code
    for text in (event.mta_response, event.description, raw.get("reason")):
        found = STATUS_CODE.search(str(text or ""))
        if found:
            return found.group(1)
    return ""
