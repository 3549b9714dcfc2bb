"""An erased person's address taken out of the webhook requests kept in the outbox."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from accounts.models import Workspace
from core.erasure import Scrubber, length_of
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
    scrub = Scrubber(email)
    if not scrub.address:
        return 0
    rows = Event.objects.filter(workspace=workspace)
    if scrub.plain_in_json:
        rows = rows.annotate(body=Cast("payload", TextField())).filter(
            Q(body__icontains=scrub.address)
            | Q(response_excerpt__icontains=scrub.address)
            | Q(last_error__icontains=scrub.address)
        )
    changed = 0
    for pk, payload, excerpt, error in rows.values_list(
        "pk", "payload", "response_excerpt", "last_error"
    ).iterator():
        after = (
            scrub.json(payload),
            scrub.text(excerpt, length_of(Event, "response_excerpt")),
            scrub.text(error, length_of(Event, "last_error")),
        )
        if after != (payload, excerpt, error):
            Event.objects.filter(pk=pk).update(
                payload=after[0], response_excerpt=after[1], last_error=after[2]
            )
            changed += 1
    return changed
