"""Writes of notifications: marking read, and a user's choice of what is e-mailed."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User, Workspace
from notifications.kinds import Kind
from notifications.models import EmailChoice, Notification
from notifications.selectors import notifications_of


def notification_mark_read(*, notification: Notification, now: datetime | None = None) -> None:
    """Mark one read (again: it keeps the first time)."""
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        notification.save(update_fields=["read_at"])


def notifications_mark_all_read(
    *, workspace: Workspace, user: User, now: datetime | None = None
) -> int:
    """Mark every unread notification of the user in the workspace read; returns how many."""
    unread = notifications_of(workspace, user).filter(read_at__isnull=True)
    return unread.update(read_at=now or timezone.now())


@transaction.atomic
def email_choices_set(*, user: User, by_email: dict[str, bool]) -> None:
    """Save the user's choice for each kind given (unknown kinds are refused)."""
    for kind, wanted in by_email.items():
        if kind not in Kind.values:
            raise ValueError(f"unknown notification kind {kind!r}")
        EmailChoice.objects.update_or_create(user=user, kind=kind, defaults={"by_email": wanted})
