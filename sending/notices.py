"""Telling a workspace's owners that one of its accounts went to error.

The change is recorded with the status (`AccountStatusChange.notify_after` set); this worker
step e-mails the owners afterwards, outside the engine's transaction, so that a slow or
broken system mail server never holds up sending. A failed e-mail is tried again a few
times with a growing pause; an account fixed before its e-mail went out sends none. In the
app, every page of the workspace shows its accounts in error (context_processors.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.emails import MailNotSent, send_templated
from accounts.models import Membership, Role, Workspace
from sending.models import AccountStatus, AccountStatusChange

log = logging.getLogger(__name__)

NOTIFY_PER_STEP = 20
NOTIFY_MAX_ATTEMPTS = 5
NOTIFY_RETRY = timedelta(minutes=5)
# An e-mail about an error this old is no news any more: it is dropped, not sent late.
NOTIFY_STALE = timedelta(days=1)


def run_notice_step() -> bool:
    """The worker step: e-mail what is due; True while more is waiting."""
    return notify_account_errors(now=timezone.now())


def notify_account_errors(*, now: datetime) -> bool:
    """Send the due e-mails about accounts in error, at most NOTIFY_PER_STEP of them."""
    due = list(
        AccountStatusChange.objects.filter(notify_after__lte=now)
        .select_related("account")
        .order_by("notify_after", "id")[:NOTIFY_PER_STEP]
    )
    for change in due:
        _notify(change, now)
    return len(due) == NOTIFY_PER_STEP


def _notify(change: AccountStatusChange, now: datetime) -> None:
    still_failing = change.account is not None and change.account.status == AccountStatus.ERROR
    owners = list(
        Membership.objects.filter(
            workspace_id=change.workspace_id, role=Role.OWNER, user__is_active=True
        ).values_list("user__email", flat=True)
    )
    if not still_failing or not owners or now - change.created_at > NOTIFY_STALE:
        _done(change, notified_at=None)
        return
    workspace = Workspace.objects.get(pk=change.workspace_id)
    try:
        send_templated(
            to=sorted(owners),
            template="account_error",
            folder="sending/email",
            context={
                "change": change,
                "workspace": workspace,
                "when": _local(change.created_at, workspace),
                "link": _link(change),
            },
        )
    except MailNotSent as exc:
        _retry(change, now, str(exc))
        return
    _done(change, notified_at=now)


def _local(moment: datetime, workspace: Workspace) -> str:
    try:
        zone = ZoneInfo(workspace.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


def _link(change: AccountStatusChange) -> str:
    if change.account_id is None or not settings.SITE_URL:
        return ""
    path = reverse("sending:account_detail", kwargs={"account_id": change.account_id})
    return f"{settings.SITE_URL}{path}"


@transaction.atomic
def _done(change: AccountStatusChange, *, notified_at: datetime | None) -> None:
    change.notify_after = None
    change.notified_at = notified_at
    change.save(update_fields=["notify_after", "notified_at"])


@transaction.atomic
def _retry(change: AccountStatusChange, now: datetime, error: str) -> None:
    change.notify_attempts += 1
    if change.notify_attempts >= NOTIFY_MAX_ATTEMPTS:
        log.error(
            "gave up telling the owners that account %s is in error: %s", change.account_id, error
        )
        change.notify_after = None
    else:
        change.notify_after = now + NOTIFY_RETRY * 2 ** (change.notify_attempts - 1)
    change.save(update_fields=["notify_attempts", "notify_after"])
