"""Campaign status changes become outbox rows in the same transaction as the change, so an
event exists exactly when the change committed."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import DatabaseError, transaction

from campaigns.models import Campaign
from webhooks import events as catalogue
from webhooks.models import Endpoint
from webhooks.services import outbox_add

log = logging.getLogger(__name__)


def on_campaign_status_changed(
    sender: Any, *, campaign: Campaign, previous: str, action: str, at: datetime, **_: Any
) -> None:
    endpoints = [
        e
        for e in Endpoint.objects.filter(workspace_id=campaign.workspace_id, active=True)
        if catalogue.subscribes(e.events, catalogue.CAMPAIGN_STATUS_CHANGED)
    ]
    if not endpoints:
        return
    event = catalogue.campaign_status_changed(campaign, previous=previous, action=action, at=at)
    try:
        # A savepoint: a webhook problem must never undo or block the campaign's change.
        with transaction.atomic():
            for endpoint in endpoints:
                outbox_add(endpoint=endpoint, events=[event], now=at)
    except DatabaseError:
        log.exception("could not queue campaign.status_changed for campaign %s", campaign.pk)
