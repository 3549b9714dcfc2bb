"""E-mailing notifications to those who chose it, each in their profile language.

A due notification is taken (emailed_at written, email_after cleared) in one transaction
before it is sent: a worker that dies right after loses that e-mail rather than sending it
twice. A refusal by the system mail server puts it back with a growing pause, a few times.
This replaces sending's own e-mail to the owners about an account in error.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import translation

from accounts.emails import MailNotSent, send_templated
from notifications.kinds import Kind, path_of, text_of
from notifications.models import Notification
from sending.models import AccountStatus, SendingAccount

log = logging.getLogger(__name__)

PER_STEP = 20
MAX_ATTEMPTS = 5
RETRY = timedelta(minutes=5)
# An e-mail this late is no news any more: it is dropped, not sent.
STALE = timedelta(days=1)


def email_due(*, now: datetime) -> bool:
    """Send the due e-mails, at most PER_STEP; True while more are waiting."""
    taken = _take(now)
    for notification in taken:
        _send(notification, now)
    return len(taken) == PER_STEP


@transaction.atomic
def _take(now: datetime) -> list[Notification]:
    due = Notification.objects.filter(email_after__lte=now).order_by("email_after", "id")
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True)
    rows = list(due.select_related("user", "workspace")[:PER_STEP])
    ids = [n.pk for n in rows]
    Notification.objects.filter(pk__in=ids).update(email_after=None, emailed_at=now)
    return rows


def _still_news(notification: Notification, now: datetime) -> bool:
    if now - notification.created_at > STALE or not notification.user.is_active:
        return False
    if notification.kind == Kind.ACCOUNT_ERROR:  # fixed before the e-mail went: none
        return (
            notification.subject_id is not None
            and SendingAccount.objects.filter(
                pk=notification.subject_id, status=AccountStatus.ERROR
            ).exists()
        )
    return True


def _send(notification: Notification, now: datetime) -> None:
    if not _still_news(notification, now):
        Notification.objects.filter(pk=notification.pk).update(emailed_at=None)
        return
    user = notification.user
    with translation.override(user.language or settings.LANGUAGE_CODE):
        path = path_of(notification.kind, notification.subject_id)
        context = {
            "notification": notification,
            "text": text_of(notification.kind, notification.subject_name),
            "workspace": notification.workspace,
            "link": f"{settings.SITE_URL}{path}" if path and settings.SITE_URL else "",
        }
        try:
            send_templated(
                to=user.email,
                template="notification",
                folder="notifications/email",
                context=context,
            )
        except MailNotSent as exc:
            _retry(notification, now, str(exc))


def _retry(notification: Notification, now: datetime, error: str) -> None:
    attempts = notification.email_attempts + 1
    after: datetime | None = now + RETRY * 2 ** (attempts - 1)
    if attempts >= MAX_ATTEMPTS:
        log.error("gave up e-mailing notification %s: %s", notification.pk, error)
        after = None
    Notification.objects.filter(pk=notification.pk).update(
        email_attempts=attempts, email_after=after, emailed_at=None
    )
