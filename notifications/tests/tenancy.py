"""Foreign notifications for the tenancy walker (postroom/tests/test_tenancy.py)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from notifications.collect import Fact, tell
from notifications.kinds import Kind
from notifications.models import Notification


def _notification(foreign: Any) -> int:
    """The foreign owner's notification (every member of a walk's workspace gets one)."""
    mine = Notification.objects.filter(workspace=foreign.workspace, user=foreign.owner)
    found = mine.first()
    if found is None:
        fact = Fact(
            foreign.workspace.pk,
            Kind.CAMPAIGN_FINISHED,
            "tenancy:1",
            "foreignmark campaign",
            None,
            "foreignmark reason",
            timezone.now(),
        )
        tell([fact], now=timezone.now())
        found = mine.get()
    return found.pk


PROVIDERS = {"notification_id": _notification}
