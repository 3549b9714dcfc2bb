"""Reads for webhooks; every one starts from a workspace (or its endpoint)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Workspace
from webhooks.models import Endpoint, Event


def endpoints(workspace: Workspace) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(workspace=workspace).order_by("-created_at", "-id")


def endpoint_get(workspace: Workspace, endpoint_id: int) -> Endpoint | None:
    return endpoints(workspace).filter(pk=endpoint_id).first()


def events_of(endpoint: Endpoint) -> QuerySet[Event]:
    return Event.objects.filter(endpoint=endpoint, workspace_id=endpoint.workspace_id).order_by(
        "-id"
    )


def event_get(workspace: Workspace, event_id: int) -> Event | None:
    return Event.objects.filter(workspace=workspace, pk=event_id).select_related("endpoint").first()
