"""Writes for tracking: unsubscribes from the links in messages."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audience.models import Recipient, RecipientStatus, Suppression, SuppressionReason
from campaigns.models import Delivery


@transaction.atomic
def unsubscribe(*, delivery: Delivery) -> bool:
    """Unsubscribe the delivery's address from its workspace; True if it was not already.

    Idempotent: a second click (or a mail provider's one-click POST after a person's click)
    changes nothing. The address goes on the suppression list, so no campaign of the
    workspace sends to it again, running ones included.
    """
    _, created = Suppression.objects.get_or_create(
        workspace_id=delivery.workspace_id,
        email=delivery.email,
        defaults={
            "reason": SuppressionReason.UNSUBSCRIBED,
            "source": f"unsubscribe link of “{delivery.campaign.name}”",
        },
    )
    Recipient.objects.filter(
        workspace_id=delivery.workspace_id, email=delivery.email, status=RecipientStatus.ACTIVE
    ).update(status=RecipientStatus.UNSUBSCRIBED, updated_at=timezone.now())
    return created
