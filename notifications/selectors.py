"""Reads of notifications: always one user's, in one workspace."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User, Workspace
from notifications.kinds import KINDS, Kind
from notifications.models import EmailChoice, Notification


def notifications_of(workspace: Workspace, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(workspace=workspace, user=user).order_by(
        "-created_at", "-id"
    )


def notification_get(workspace: Workspace, user: User, notification_id: int) -> Notification | None:
    return notifications_of(workspace, user).filter(pk=notification_id).first()


def unread_count(workspace: Workspace, user: User) -> int:
    return notifications_of(workspace, user).filter(read_at__isnull=True).count()


def email_choices(user: User) -> dict[str, bool]:
    """Every kind, e-mailed or not, for this user (their choice, else the kind's default)."""
    chosen = dict(EmailChoice.objects.filter(user=user).values_list("kind", "by_email"))
    return {kind: chosen.get(kind, KINDS[kind].email) for kind in Kind.values}
