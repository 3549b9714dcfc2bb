"""Delivery, unsubscribe, account, campaign and feedback events, read from the campaigns'
attempt log, the suppression list, the accounts' and campaigns' status changes and tracking's
events after the fact, so that neither the engine's hot path, a campaign's change nor a
tracking hit does any webhook work.

Each watched workspace has a cursor (the last attempt, suppression, account and campaign
change and tracking event id read). A pass reads what follows it, queues the events for each
subscribed endpoint in requests of up to WEBHOOK_EVENTS_PER_REQUEST, and moves the cursor, in
one transaction: every attempt becomes an event once. On PostgreSQL ids are not committed in
order (two workers write at once), so rows younger than WEBHOOK_SETTLE_SECONDS are left for
the next pass instead of being skipped by a cursor that has moved past them; SQLite writes
one transaction at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, Max, Model, OuterRef, Q, QuerySet

from audience.models import Suppression, SuppressionReason
from campaigns.models import Attempt, CampaignStatusChange
from sending.models import AccountStatusChange
from tracking.models import Event as TrackingEvent
from tracking.models import EventKind
from webhooks import events as catalogue
from webhooks.models import Cursor, Endpoint
from webhooks.services import outbox_add_batches

M = TypeVar("M", bound=Model)
# An unsubscribe recorded by tracking writes its suppression in the same transaction; such a
# suppression is told through the tracking event (with its campaign and delivery), not twice.
SAME_UNSUBSCRIBE = timedelta(seconds=60)


class _DeliveryState(TypedDict):
    delivery_status: str
    superseded: bool  # a later attempt of the same delivery exists


if TYPE_CHECKING:  # WithAnnotations takes the TypedDict only for the type checker
    from django_stubs_ext import WithAnnotations

    ReadAttempt = WithAnnotations[Attempt, _DeliveryState]


def watched_workspace_ids() -> list[int]:
    """Workspaces with an active endpoint that wants delivery, recipient, account, campaign or
    feedback events."""
    watching = Endpoint.objects.filter(active=True).filter(
        Q(wants_delivery_events=True)
        | Q(wants_recipient_events=True)
        | Q(wants_account_events=True)
        | Q(wants_campaign_events=True)
        | Q(wants_feedback_events=True)
    )
    return sorted(set(watching.values_list("workspace_id", flat=True)))


def collect(*, now: datetime) -> bool:
    """One pass over every watched workspace; True if some had more than one page waiting."""
    more = False
    for workspace_id in watched_workspace_ids():
        more = collect_workspace(workspace_id=workspace_id, now=now) or more
    return more


def _settled(rows: list[M], now: datetime) -> list[M]:
    """The leading rows old enough that no lower id can still be committed after them."""
    seconds = settings.WEBHOOK_SETTLE_SECONDS if connection.vendor != "sqlite" else 0
    if not seconds:
        return rows
    limit = now - timedelta(seconds=seconds)
    for index, row in enumerate(rows):
        if row.created_at > limit:  # type: ignore[attr-defined]
            return rows[:index]
    return rows


def _cursor(workspace_id: int) -> Cursor:
    cursor = Cursor.objects.select_for_update().filter(workspace_id=workspace_id).first()
    if cursor is None:  # watched without the services' start (e.g. rows made by hand)
        Cursor.objects.get_or_create(
            workspace_id=workspace_id,
            defaults={
                "attempt_id": Attempt.objects.aggregate(m=Max("id"))["m"] or 0,
                "suppression_id": Suppression.objects.aggregate(m=Max("id"))["m"] or 0,
                "account_change_id": (AccountStatusChange.objects.aggregate(m=Max("id"))["m"] or 0),
                "campaign_change_id": (
                    CampaignStatusChange.objects.aggregate(m=Max("id"))["m"] or 0
                ),
                "tracking_event_id": TrackingEvent.objects.aggregate(m=Max("id"))["m"] or 0,
            },
        )
        cursor = Cursor.objects.select_for_update().get(workspace_id=workspace_id)
    return cursor


def _attempts(workspace_id: int, after: int, limit: int) -> QuerySet[ReadAttempt]:
    later = Attempt.objects.filter(delivery_id=OuterRef("delivery_id"), id__gt=OuterRef("id"))
    return (
        Attempt.objects.filter(workspace_id=workspace_id, id__gt=after)
        .annotate(delivery_status=F("delivery__status"), superseded=Exists(later))
        .order_by("id")[:limit]
    )


def _unsubscribes(workspace_id: int, after: int) -> QuerySet[Suppression]:
    """Unsubscribes put on the list by other ways than a tracking event (a bulk action, the
    API): those tracking recorded are told from its event."""
    by_tracking = TrackingEvent.objects.filter(
        workspace_id=workspace_id,
        kind=EventKind.UNSUBSCRIBED,
        email=OuterRef("email"),
        created_at__gte=OuterRef("created_at") - SAME_UNSUBSCRIBE,
        created_at__lte=OuterRef("created_at") + SAME_UNSUBSCRIBE,
    )
    return (
        Suppression.objects.filter(
            workspace_id=workspace_id, id__gt=after, reason=SuppressionReason.UNSUBSCRIBED
        )
        .exclude(Exists(by_tracking))
        .order_by("id")
    )


def _tracking_events(workspace_id: int, after: int, limit: int) -> QuerySet[TrackingEvent]:
    """The workspace's tracking events of a kind that is told (not `delivered`), by id."""
    return TrackingEvent.objects.filter(
        workspace_id=workspace_id, id__gt=after, kind__in=list(catalogue.FEEDBACK_KINDS)
    ).order_by("id")[:limit]


@transaction.atomic
def collect_workspace(*, workspace_id: int, now: datetime) -> bool:
    """Queue the workspace's new events; True if a full page was read (more may wait)."""
    cursor = _cursor(workspace_id)
    endpoints = list(Endpoint.objects.filter(workspace_id=workspace_id, active=True))
    limit = settings.WEBHOOK_COLLECT_LIMIT
    found: list[tuple[datetime, dict[str, Any]]] = []
    more = False
    # Each stream: who wants it, its cursor field, its page after the cursor, its event.
    streams: list[tuple[str, str, Callable[[int], Iterable[Any]], Callable[[Any], Any]]] = [
        (
            "wants_delivery_events",
            "attempt_id",
            lambda after: _attempts(workspace_id, after, limit),
            lambda a: catalogue.delivery_event(a, a.delivery_status, not a.superseded),
        ),
        (
            "wants_recipient_events",
            "suppression_id",
            lambda after: _unsubscribes(workspace_id, after)[:limit],
            catalogue.unsubscribed_event,
        ),
        (
            "wants_account_events",
            "account_change_id",
            lambda after: AccountStatusChange.objects.filter(
                workspace_id=workspace_id, id__gt=after
            ).order_by("id")[:limit],
            catalogue.account_status_changed,
        ),
        (
            "wants_campaign_events",
            "campaign_change_id",
            lambda after: CampaignStatusChange.objects.filter(
                workspace_id=workspace_id, id__gt=after
            ).order_by("id")[:limit],
            catalogue.campaign_status_changed,
        ),
        (
            "wants_feedback_events",
            "tracking_event_id",
            lambda after: _tracking_events(workspace_id, after, limit),
            catalogue.feedback_event,
        ),
    ]
    for wanted, field, read, render in streams:
        if not any(getattr(e, wanted) for e in endpoints):
            continue
        page = list(read(getattr(cursor, field)))
        rows = _settled(page, now)
        found += [(row.created_at, render(row)) for row in rows]
        if rows:
            setattr(cursor, field, rows[-1].pk)
        # A full page, all of it settled: the next may wait already.
        more = more or (len(page) == limit and len(rows) == len(page))
    _queue(endpoints, found, now)
    cursor.updated_at = now
    cursor.save(
        update_fields=[
            "attempt_id",
            "suppression_id",
            "account_change_id",
            "campaign_change_id",
            "tracking_event_id",
            "updated_at",
        ]
    )
    return more


def _queue(
    endpoints: list[Endpoint], found: list[tuple[datetime, dict[str, Any]]], now: datetime
) -> None:
    """Each endpoint gets the events it subscribes to that happened since it was created."""
    chosen: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for at, event in found:
        for endpoint in endpoints:
            if at >= endpoint.created_at and catalogue.subscribes(endpoint.events, event["type"]):
                chosen[endpoint.pk].append(event)
    for endpoint in endpoints:
        if chosen[endpoint.pk]:
            outbox_add_batches(endpoint=endpoint, events=chosen[endpoint.pk], now=now)
