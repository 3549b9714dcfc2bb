"""Re-plan deliveries waiting for room when a limit is lifted.

A delivery no account had room for is put back with the time room was expected (the next
local midnight for a daily limit, the end of the rolling hour for the hourly one). When a
person raises a limit, lowers a minimum wait, moves the workspace's time zone or resets the
day's counts, that time is too late: the services below the engine mark the workspace
(`Workspace.room_changed_at`), and this step brings forward as many of its waiting
deliveries as there is room for now. The rest keep their time, which is still right.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import Q

from accounts.models import Workspace
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from sending import quota
from sending.models import AccountStatus, SendingAccount

log = logging.getLogger(__name__)

# A delivery waits for room when its reply is one of quota's reasons (without an attempt).
WAITING_FOR_ROOM = reduce(or_, (Q(last_reply__contains=r) for r in quota.LIMIT_REASONS))


def replan_waiting_for_room(*, now: datetime) -> int:
    """Bring forward, in each marked workspace, the deliveries that now have room; clear the
    mark. Returns how many were moved. A workspace marked again meanwhile stays marked."""
    marked = list(
        Workspace.objects.filter(room_changed_at__isnull=False).values_list("pk", "room_changed_at")
    )
    moved = 0
    for workspace_id, mark in marked:
        with transaction.atomic():
            moved += _replan_workspace(workspace_id, now)
            Workspace.objects.filter(pk=workspace_id, room_changed_at=mark).update(
                room_changed_at=None
            )
    return moved


def _replan_workspace(workspace_id: int, now: datetime) -> int:
    workspace = Workspace.objects.get(pk=workspace_id)
    running = Campaign.objects.filter(workspace_id=workspace_id, status=CampaignStatus.RUNNING)
    accounts = list(
        SendingAccount.objects.filter(campaigns__in=running, status=AccountStatus.ACTIVE).distinct()
    )
    room = quota.room_today(accounts, workspace, now)
    if room <= 0:
        return 0
    # Oldest plan first, as the claim would take them.
    waiting = (
        Delivery.objects.filter(
            campaign__in=running, status=DeliveryStatus.DEFERRED, next_attempt_at__gt=now
        )
        .filter(WAITING_FOR_ROOM)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:room]
    )
    moved = Delivery.objects.filter(pk__in=list(waiting)).update(next_attempt_at=now)
    if moved:
        log.info("workspace %s: %d deliveries waiting for room re-planned", workspace_id, moved)
    return moved
