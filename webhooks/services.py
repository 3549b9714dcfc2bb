"""Writes for webhooks: endpoints (secret shown once), the outbox, and one request's outcome."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from prometheus_client import Counter

from accounts.audit import services as audit
from accounts.models import User, Workspace
from audience.models import Suppression
from campaigns.models import Attempt, CampaignStatusChange
from core.backoff import Backoff
from sending.models import AccountStatusChange
from tracking.models import Event as TrackingEvent
from webhooks import events as catalogue
from webhooks import signing, targets
from webhooks.client import PostResult, post
from webhooks.models import Cursor, Endpoint, Event, EventState

# Stored as it is (the API shows it); the endpoint page translates it.
DISABLED_BY_USER = gettext_noop("Disabled by a user.")

log = logging.getLogger("postroom.webhooks")
REQUESTS = Counter(
    "postroom_webhook_requests",
    "Webhook requests sent, by outcome (delivered, failed).",
    ("outcome",),
)


@dataclass(frozen=True)
class IssuedSecret:
    endpoint: Endpoint
    secret: str  # shown to the user once

    @property
    def standard_secret(self) -> str:
        """The same secret as Standard Webhooks verifiers take it (shown with it, once)."""
        return signing.standard_secret(self.secret)


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = sorted(set(events))
    unknown = [e for e in chosen if e != catalogue.ALL and e not in catalogue.EVENT_TYPES]
    if unknown:
        raise ValidationError(
            {"events": _("Unknown event types: %(names)s.") % {"names": ", ".join(unknown)}}
        )
    if not chosen:
        raise ValidationError({"events": _("Choose at least one event type.")})
    return [catalogue.ALL] if catalogue.ALL in chosen else chosen


def _clean_url(url: str) -> str:
    try:
        targets.check(url)
    except targets.UrlRefused as exc:
        raise ValidationError({"url": str(exc)}) from exc
    return url.strip()


def _watching(workspace: Workspace) -> tuple[bool, bool, bool, bool, bool]:
    """Whether an active endpoint of the workspace wants delivery, recipient, account,
    campaign, feedback (tracking) events."""
    active = Endpoint.objects.filter(workspace=workspace, active=True)
    return (
        active.filter(wants_delivery_events=True).exists(),
        active.filter(wants_recipient_events=True).exists(),
        active.filter(wants_account_events=True).exists(),
        active.filter(wants_campaign_events=True).exists(),
        active.filter(wants_feedback_events=True).exists(),
    )


def _start_cursor(workspace: Workspace, before: tuple[bool, bool, bool, bool, bool]) -> None:
    """When a workspace starts being watched for a kind of event, that kind starts now:
    history is not replayed (and neither is what happened while nobody listened)."""
    after = _watching(workspace)
    defaults: dict[str, Any] = {}
    if after[0] and not before[0]:
        defaults["attempt_id"] = Attempt.objects.aggregate(m=Max("id"))["m"] or 0
    if after[1] and not before[1]:
        defaults["suppression_id"] = Suppression.objects.aggregate(m=Max("id"))["m"] or 0
    if after[2] and not before[2]:
        defaults["account_change_id"] = AccountStatusChange.objects.aggregate(m=Max("id"))["m"] or 0
    if after[3] and not before[3]:
        defaults["campaign_change_id"] = (
            CampaignStatusChange.objects.aggregate(m=Max("id"))["m"] or 0
        )
    if after[4] and not before[4]:
        defaults["tracking_event_id"] = TrackingEvent.objects.aggregate(m=Max("id"))["m"] or 0
    if defaults:
        defaults["updated_at"] = timezone.now()
        Cursor.objects.update_or_create(workspace=workspace, defaults=defaults)


def _set_events(endpoint: Endpoint, events: Iterable[str]) -> None:
    endpoint.events = _clean_events(events)
    endpoint.wants_delivery_events = catalogue.wants_delivery_events(endpoint.events)
    endpoint.wants_recipient_events = catalogue.wants_recipient_events(endpoint.events)
    endpoint.wants_account_events = catalogue.wants_account_events(endpoint.events)
    endpoint.wants_campaign_events = catalogue.wants_campaign_events(endpoint.events)
    endpoint.wants_feedback_events = catalogue.wants_feedback_events(endpoint.events)


@transaction.atomic
def endpoint_create(
    *,
    workspace: Workspace,
    url: str,
    events: Iterable[str],
    description: str = "",
    created_by: User | None = None,
) -> IssuedSecret:
    """A new active endpoint with a new secret, returned once. ValidationError for a URL the
    address rules refuse (checked by resolving its host now) or unknown event types."""
    before = _watching(workspace)
    endpoint = Endpoint(
        workspace=workspace,
        url=_clean_url(url),
        description=description.strip(),
        secret=signing.new_secret(),
        created_by=created_by,
    )
    _set_events(endpoint, events)
    endpoint.save()
    _start_cursor(workspace, before)
    audit.record(
        "webhook.endpoint_created", workspace=workspace, target=endpoint,
        target_label=_host(endpoint), events=sorted(endpoint.events),
    )  # fmt: skip
    return IssuedSecret(endpoint=endpoint, secret=endpoint.secret)


def _host(endpoint: Endpoint) -> str:
    """What the audit log names an endpoint by: only its host, as a receiver's URL may carry
    a token in its path or query."""
    return urlsplit(endpoint.url).hostname or ""


@transaction.atomic
def endpoint_update(
    *,
    endpoint: Endpoint,
    url: str | None = None,
    events: Iterable[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> Endpoint:
    """Change what is given. Enabling clears the failure record and the disabled reason."""
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = _watching(endpoint.workspace)
    was = (endpoint.url, sorted(endpoint.events), endpoint.description, endpoint.active)
    if url is not None and url.strip() != endpoint.url:
        endpoint.url = _clean_url(url)
    if events is not None:
        _set_events(endpoint, events)
    if description is not None:
        endpoint.description = description.strip()
    if active is not None and active != endpoint.active:
        endpoint.active = active
        endpoint.consecutive_failures = 0
        endpoint.failing_since = None
        endpoint.disabled_reason = "" if active else DISABLED_BY_USER
    endpoint.save()
    _start_cursor(endpoint.workspace, before)
    now_is = (endpoint.url, sorted(endpoint.events), endpoint.description, endpoint.active)
    names = ("url", "events", "description", "active")
    if changed := [name for name, old, new in zip(names, was, now_is, strict=True) if old != new]:
        audit.record(
            "webhook.endpoint_changed", workspace=endpoint.workspace, target=endpoint,
            target_label=_host(endpoint), fields=changed,
        )  # fmt: skip
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: Endpoint, now: datetime | None = None) -> IssuedSecret:
    """A new secret, returned once. The old one keeps signing (a second v1=) for
    WEBHOOK_SECRET_OVERLAP_SECONDS, so a receiver can switch without losing requests."""
    now = now or timezone.now()
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + timedelta(
        seconds=settings.WEBHOOK_SECRET_OVERLAP_SECONDS
    )
    endpoint.secret = signing.new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    audit.record(
        "webhook.secret_rotated", workspace=endpoint.workspace, target=endpoint,
        target_label=_host(endpoint),
    )  # fmt: skip
    return IssuedSecret(endpoint=endpoint, secret=endpoint.secret)


@transaction.atomic
def endpoint_delete(*, endpoint: Endpoint) -> None:
    """Delete the endpoint and its outbox (nothing more will be sent to it)."""
    audit.record(
        "webhook.endpoint_deleted", workspace=endpoint.workspace, target=endpoint,
        target_label=_host(endpoint),
    )  # fmt: skip
    endpoint.delete()


def outbox_add(*, endpoint: Endpoint, events: list[dict[str, Any]], now: datetime) -> Event:
    return Event.objects.create(
        workspace_id=endpoint.workspace_id,
        endpoint=endpoint,
        event_type=catalogue.summary_type(events),
        event_count=len(events),
        payload={"events": events},
        next_attempt_at=now,
        created_at=now,
    )


def outbox_add_batches(
    *, endpoint: Endpoint, events: list[dict[str, Any]], now: datetime
) -> list[Event]:
    """Queue `events` in requests of at most WEBHOOK_EVENTS_PER_REQUEST events each."""
    size = settings.WEBHOOK_EVENTS_PER_REQUEST
    rows = [
        Event(
            workspace_id=endpoint.workspace_id,
            endpoint=endpoint,
            event_type=catalogue.summary_type(chunk),
            event_count=len(chunk),
            payload={"events": chunk},
            next_attempt_at=now,
            created_at=now,
        )
        for chunk in (events[i : i + size] for i in range(0, len(events), size))
    ]
    return Event.objects.bulk_create(rows)


def event_send_test(*, endpoint: Endpoint) -> Event:
    """Queue a webhook.test event to the endpoint and try it at once; returns it, updated."""
    now = timezone.now()
    event = outbox_add(
        endpoint=endpoint,
        events=[catalogue.ping_event(workspace_id=endpoint.workspace_id, at=now)],
        now=now,
    )
    event_attempt(event_id=event.pk, force=True)
    event.refresh_from_db()
    return event


def event_retry_now(*, event: Event) -> Event:
    """Try a pending or failed request again at once (a failed one gets one more try)."""
    Event.objects.filter(pk=event.pk).exclude(state=EventState.DELIVERED).update(
        state=EventState.PENDING, next_attempt_at=timezone.now()
    )
    event_attempt(event_id=event.pk, force=True)
    event.refresh_from_db()
    return event


def _claim(event_id: int, now: datetime) -> bool:
    """Hold the event for one request; False if another worker holds it or it is done."""
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 4 + 30)
    free = Event.objects.filter(pk=event_id, state=EventState.PENDING).exclude(lease_until__gt=now)
    return free.update(lease_until=lease) == 1


def event_attempt(*, event_id: int, force: bool = False) -> PostResult | None:
    """Send one outbox row, signed, and record the outcome; None if it could not be claimed.

    An inactive endpoint is only sent to when `force` (a user's test or retry). Failures are
    retried with backoff until WEBHOOK_MAX_ATTEMPTS, then the row is `failed`; an endpoint
    failing for longer than WEBHOOK_DISABLE_AFTER_SECONDS is disabled with the reason.
    """
    now = timezone.now()
    if not _claim(event_id, now):
        return None
    event = Event.objects.select_related("endpoint").get(pk=event_id)
    endpoint = event.endpoint
    if not endpoint.active and not force:
        Event.objects.filter(pk=event.pk).update(lease_until=None)
        return None
    body = json.dumps(event.payload, separators=(",", ":")).encode()
    started = time.perf_counter()
    result = post(endpoint.url, body, _headers(endpoint, event, body, now))
    _record(event, result, timezone.now())
    _log_request(event, result, time.perf_counter() - started)
    return result


def _log_request(event: Event, result: PostResult, seconds: float) -> None:
    """One structured line and one count per webhook request. The endpoint is named by its
    id and host only: a URL's path or query may carry the receiver's token."""
    outcome = "delivered" if result.ok else "failed"
    REQUESTS.labels(outcome).inc()
    log.info(
        "webhook request: event %s endpoint %s %s (HTTP %s)",
        event.pk,
        event.endpoint_id,
        outcome,
        result.status_code,
        extra={
            "event": "webhook.request",
            "webhook_event_id": event.pk,
            "endpoint_id": event.endpoint_id,
            "endpoint_host": urlsplit(event.endpoint.url).hostname or "",
            "workspace_id": event.workspace_id,
            "event_type": event.event_type,
            "event_count": event.event_count,
            "attempt": event.attempts,
            "state": event.state,
            # Not the error's text: a network error quotes the URL, path and query included.
            "status_code": result.status_code,
            "seconds": round(seconds, 4),
        },
    )


def _headers(endpoint: Endpoint, event: Event, body: bytes, now: datetime) -> dict[str, str]:
    keys = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        keys.append(endpoint.previous_secret)
    timestamp = int(now.timestamp())
    # One id for both headers, the same on every retry: a receiver that deduplicates on
    # Postroom-Event-Id keeps its ids when it moves to webhook-id.
    message_id = str(event.uuid)
    return {
        signing.HEADER: signing.signature_header(keys, timestamp, body),
        "Postroom-Event-Id": message_id,
        **signing.standard_headers(keys, message_id, timestamp, body),
    }


def _policy() -> Backoff:
    return Backoff(
        base=timedelta(seconds=settings.WEBHOOK_RETRY_BASE_SECONDS),
        cap=timedelta(seconds=settings.WEBHOOK_RETRY_MAX_SECONDS),
        jitter=settings.WEBHOOK_RETRY_JITTER,
    )


@transaction.atomic
def _record(event: Event, result: PostResult, now: datetime) -> None:
    event.attempts += 1
    event.last_attempt_at = now
    event.last_status_code = result.status_code
    event.last_error = result.error[:500]
    event.response_excerpt = result.excerpt[:500]
    event.lease_until = None
    if result.ok:
        event.state = EventState.DELIVERED
        event.delivered_at = now
    elif event.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        event.state = EventState.FAILED
    else:
        event.next_attempt_at = _policy().next_try(event.attempts, now)
    event.save(
        update_fields=[
            "attempts",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "response_excerpt",
            "lease_until",
            "state",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    _endpoint_outcome(event.endpoint, result, now)


def _endpoint_outcome(endpoint: Endpoint, result: PostResult, now: datetime) -> None:
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    if result.ok:
        endpoint.consecutive_failures = 0
        endpoint.failing_since = None
        endpoint.last_success_at = now
    else:
        endpoint.consecutive_failures += 1
        endpoint.failing_since = endpoint.failing_since or now
        # The endpoint backs off as a whole: its other requests wait too, so a receiver that
        # is down (or hangs) costs one request per backoff, not one per queued row.
        hold = now + _policy().delay(endpoint.consecutive_failures)
        Event.objects.filter(
            endpoint=endpoint, state=EventState.PENDING, next_attempt_at__lt=hold
        ).update(next_attempt_at=hold)
        failing_for = (now - endpoint.failing_since).total_seconds()
        if (
            endpoint.active
            and failing_for >= settings.WEBHOOK_DISABLE_AFTER_SECONDS
            and endpoint.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES
        ):
            endpoint.active = False
            endpoint.disabled_reason = (
                f"Disabled on {catalogue.iso(now)} after {endpoint.consecutive_failures} "
                f"failed requests since {catalogue.iso(endpoint.failing_since)}; "
                f"last: {result.error}"
            )[:500]
    endpoint.save(
        update_fields=[
            "consecutive_failures",
            "failing_since",
            "last_success_at",
            "active",
            "disabled_reason",
        ]
    )
