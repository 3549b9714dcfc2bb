"""An erased person's address taken out of the webhook requests kept in the outbox."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Workspace
from core.erasure import Scrubber, scrub_rows
from webhooks.models import Event


@transaction.atomic
def requests_erase(*, workspace: Workspace, email: str) -> int:
    """Cut `email` out of the workspace's webhook requests, sent or waiting; how many changed.

    Named in settings.RECIPIENT_ERASERS. A request carries the address of every delivery
    event in it (and an endpoint's answer may repeat it); the request stays, for its
    endpoint's history, with "[erased]" in its place: a request still waiting goes out so.
    Requests are kept WEBHOOK_EVENT_RETENTION_DAYS; they are read by their text, as erasure
    is rare and they have no index by address.
    """
    return scrub_rows(
        Event.objects.filter(workspace=workspace),
        Scrubber(email),
        text=("response_excerpt", "last_error"),
        json=("payload",),
    )
