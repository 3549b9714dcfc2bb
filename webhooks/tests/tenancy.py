"""Foreign objects of webhooks for the tenancy walker (postroom/tests/test_tenancy.py)."""

from __future__ import annotations

from typing import Any

from django.test import override_settings
from django.utils import timezone

from webhooks import events as catalogue
from webhooks.models import Endpoint, Event
from webhooks.services import endpoint_create, outbox_add


def _endpoint(foreign: Any) -> Endpoint:
    endpoint = Endpoint.objects.filter(workspace=foreign.workspace).first()
    if endpoint is None:
        with override_settings(SENDING_ALLOW_PRIVATE_HOSTS=True):
            endpoint = endpoint_create(
                workspace=foreign.workspace,
                url="http://127.0.0.1:9/foreignmark",
                events=["*"],
                description="foreignmark endpoint",
            ).endpoint
    return endpoint


def _event(foreign: Any) -> Event:
    endpoint = _endpoint(foreign)
    event = Event.objects.filter(endpoint=endpoint).first()
    if event is None:
        now = timezone.now()
        ping = catalogue.ping_event(workspace_id=foreign.workspace.pk, at=now)
        event = outbox_add(endpoint=endpoint, events=[ping], now=now)
    return event


PROVIDERS: dict[str, Any] = {
    "endpoint_id": lambda foreign: _endpoint(foreign).pk,
    "event_id": lambda foreign: _event(foreign).pk,
}
