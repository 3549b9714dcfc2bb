"""What campaigns tells the layers above it, without calling them: rows they read by id.

Every status change writes a CampaignStatusChange in the transaction that changed the status,
so a change is told exactly when it committed (webhooks read them as events).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from accounts.audit import services as audit
from campaigns.models import Campaign, CampaignStatusChange

log = logging.getLogger("campaigns.status")


def status_changed(campaign: Campaign, *, previous: str, action: str, at: datetime) -> None:
    """Record that `campaign` (saved with its new status) moved from `previous` by `action`."""
    CampaignStatusChange.objects.create(
        workspace_id=campaign.workspace_id,
        campaign=campaign,
        campaign_name=campaign.name,
        action=action,
        previous_status=previous,
        status=campaign.status,
        reason=campaign.status_reason,
        reason_detail=campaign.status_reason_detail,
        created_at=at,
    )
    if audit.in_request():  # someone started, paused, resumed or cancelled it
        audit.record(
            "campaign.status_changed",
            workspace=campaign.workspace,
            target=campaign,
            previous=previous,
            status=campaign.status,
            by=action,
        )
    # One log line per change, once it has committed (LOG_FORMAT=json makes `fields` keys).
    fields = {
        "event": "campaign.status",
        "campaign_id": campaign.pk,
        "workspace_id": campaign.workspace_id,
        "previous": previous,
        "status": campaign.status,
        "action": action,
        "reason": campaign.status_reason[:200],
        "at": at.isoformat(),
    }
    pk, status = campaign.pk, campaign.status
    transaction.on_commit(
        lambda: log.info("campaign %s: %s -> %s (%s)", pk, previous, status, action, extra=fields)
    )
