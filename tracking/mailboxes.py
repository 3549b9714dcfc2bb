"""A workspace's bounce mailboxes as users manage them: reads, writes and the connection test.

Kept apart from `tracking.services` (the poll) so that setting a mailbox up and reading it
change independently. The password is write-only: an empty one on an update keeps the saved
one, and nothing here returns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Workspace
from tracking.feedback import mailbox as feedback
from tracking.feedback.mailbox import MailboxError, MailboxSettings
from tracking.models import (
    BounceMailbox,
    MailboxDisposal,
    MailboxMessage,
    MailboxOutcome,
    MailboxProtocol,
)

FIELDS = (
    "name",
    "enabled",
    "protocol",
    "host",
    "port",
    "security",
    "username",
    "folder",
    "disposal",
    "processed_folder",
)
# What changes the server or the login: the poll state of another mailbox means nothing here.
CONNECTION_FIELDS = ("protocol", "host", "port", "username", "folder")


def mailboxes_of(workspace: Workspace) -> QuerySet[BounceMailbox]:
    return BounceMailbox.objects.filter(workspace=workspace)


def mailbox_get(workspace: Workspace, mailbox_id: int) -> BounceMailbox | None:
    return mailboxes_of(workspace).filter(pk=mailbox_id).first()


def mailbox_messages(mailbox: BounceMailbox, *, outcome: str = "") -> QuerySet[MailboxMessage]:
    """What was taken from the mailbox, newest first; of one outcome when `outcome` is one."""
    rows = MailboxMessage.objects.filter(workspace_id=mailbox.workspace_id, mailbox=mailbox)
    if outcome in MailboxOutcome.values:
        rows = rows.filter(outcome=outcome)
    return rows.order_by("-received_at", "-id")


@transaction.atomic
def mailbox_messages_purge(*, mailbox: BounceMailbox) -> int:
    """Delete the mailbox's record of the messages it gave (their classification, notes and
    excerpts); how many went. The events recorded from them, and what the rules did (the
    suppressions), stay; so does the poll state, so nothing is read again because of this.
    A message read again anyway (the server or folder changed) is listed again but recorded
    once: its events carry their own dedupe key."""
    deleted, _counts = MailboxMessage.objects.filter(
        workspace_id=mailbox.workspace_id, mailbox=mailbox
    ).delete()
    return deleted


@transaction.atomic
def mailbox_create(*, workspace: Workspace, data: dict[str, Any]) -> BounceMailbox:
    mailbox = BounceMailbox(workspace=workspace)
    _apply(mailbox, data)
    mailbox.save()
    return mailbox


@transaction.atomic
def mailbox_update(*, mailbox: BounceMailbox, data: dict[str, Any]) -> BounceMailbox:
    moved = any(k in data and data[k] != getattr(mailbox, k) for k in CONNECTION_FIELDS)
    _apply(mailbox, data)
    if moved:
        # Another server or folder: its UIDs are not the old ones; start from its beginning.
        mailbox.uidvalidity, mailbox.last_uid, mailbox.skipped_uidls = None, 0, []
    mailbox.save()
    return mailbox


@transaction.atomic
def mailbox_delete(*, mailbox: BounceMailbox) -> None:
    mailbox.delete()


def _apply(mailbox: BounceMailbox, data: dict[str, Any]) -> None:
    for name in FIELDS:
        if name in data:
            setattr(mailbox, name, data[name])
    if data.get("password"):
        mailbox.password = data["password"]
    if mailbox.protocol == MailboxProtocol.POP3:
        mailbox.disposal = MailboxDisposal.DELETE  # POP3 has no folders to move to


@dataclass(frozen=True)
class TestOutcome:
    success: bool
    message: str
    kind: str = ""  # MailboxError.kind on failure: auth, connection, settings, server


def settings_of(mailbox: BounceMailbox, **overrides: Any) -> MailboxSettings:
    return MailboxSettings(
        protocol=cast(Any, mailbox.protocol),
        host=mailbox.host,
        port=mailbox.port,
        username=mailbox.username,
        password=mailbox.password,
        security=cast(Any, mailbox.security),
        folder=mailbox.folder,
        disposal=cast(Any, mailbox.disposal),
        processed_folder=mailbox.processed_folder,
        timeout=15.0,
        **overrides,
    )


def mailbox_test(*, mailbox: BounceMailbox, **overrides: Any) -> TestOutcome:
    """Log in and look at the folder, as a poll would, without taking anything.

    Not recorded on the mailbox: the poll's last error stays the poll's. `overrides` are
    MailboxSettings fields (tests pass the test server's TLS context)."""
    settings = settings_of(mailbox, **overrides)
    try:
        feedback._check(settings)
        waiting = _imap_probe(settings) if settings.protocol == "imap" else _pop3_probe(settings)
    except MailboxError as exc:
        return TestOutcome(False, str(exc), exc.kind)
    return TestOutcome(
        True,
        _("Signed in; %(n)s message(s) waiting in %(folder)s.")
        % {"n": waiting, "folder": settings.folder if settings.protocol == "imap" else "POP3"},
    )


def _imap_probe(settings: MailboxSettings) -> int:
    with feedback._imap_session(settings) as client:
        status, data = client.select(feedback._quoted(settings.folder), readonly=True)
        if status != "OK":
            raise MailboxError(
                "settings",
                _("The folder “%(folder)s” does not exist.") % {"folder": settings.folder},
            )
        return int(data[0] or 0) if data and data[0] else 0


def _pop3_probe(settings: MailboxSettings) -> int:
    with feedback._pop3_session(settings) as client:
        count, _size = client.stat()
        return int(count)
