"""A workspace's bounce mailboxes as users manage them: reads, writes and the connection test.

Kept apart from `tracking.services` (the poll) so that setting a mailbox up and reading it
change independently. Secrets (the password, the OAuth2 client secret and refresh token) are
write-only: an empty one on an update keeps the saved one, and nothing here returns them.

A mailbox that signs in with OAuth2 gets its access token from `sending.oauth`, as a sending
account does: refreshed (and stored, encrypted) when it expires, and refreshed once more when
the server refuses a stored one before its time (`signed_in`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Workspace
from core.erasure import Scrubber, naming, scrub_rows
from sending import oauth
from tracking.feedback import mailbox as feedback
from tracking.feedback.mailbox import MailboxError, MailboxSettings
from tracking.models import (
    BounceMailbox,
    MailboxAuth,
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
    "auth",
    "oauth_provider",
    "oauth_client_id",
    "oauth_token_endpoint",
    "folder",
    "disposal",
    "processed_folder",
)
SECRET_FIELDS = ("password", "oauth_client_secret", "oauth_refresh_token")
# What changes the server or the login: the poll state of another mailbox means nothing here.
CONNECTION_FIELDS = ("protocol", "host", "port", "username", "folder")
# What an access token was granted under: another client or grant makes it worthless.
OAUTH_FIELDS = (
    "oauth_provider",
    "oauth_client_id",
    "oauth_token_endpoint",
    "oauth_client_secret",
    "oauth_refresh_token",
)
# Where a provider's consent page is asked for reading mail (IMAP and POP3), not sending it.
MAILBOX_SCOPES = {
    "gmail": "https://mail.google.com/",
    "outlook": "https://outlook.office.com/IMAP.AccessAsUser.All "
    "https://outlook.office.com/POP.AccessAsUser.All offline_access",
}

log = logging.getLogger(__name__)
T = TypeVar("T")


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


# Where a message kept by a mailbox may name a person.
_NAMING_COLUMNS = ("sender", "subject", "note", "excerpt")


def person_mailbox_messages(*, workspace: Workspace, email: str) -> dict[str, Any]:
    """The messages bounce mailboxes kept that name an address (a reply it sent, a bounce of
    a message to it), for the privacy export (settings.RECIPIENT_DATA_PROVIDERS)."""
    scrub = Scrubber(email)
    rows = MailboxMessage.objects.filter(workspace=workspace)
    named = naming(rows, scrub, text=_NAMING_COLUMNS).select_related("mailbox")
    return {
        "mailbox_messages": [
            {
                "mailbox": message.mailbox.name,
                "received_at": message.received_at.isoformat(),
                "sender": message.sender,
                "subject": message.subject,
                "read_as": message.kind,
                "excerpt": message.excerpt,
            }
            for message in (named if scrub.address else [])
        ]
    }


@transaction.atomic
def mailbox_messages_erase(*, workspace: Workspace, email: str) -> int:
    """Cut `email` out of what the workspace's mailboxes kept of their messages (a reply's
    sender, a bounce's excerpt that names the address, …); how many rows changed. Named in
    settings.RECIPIENT_ERASERS. The rows stay, so a mailbox's counts do not change."""
    return scrub_rows(
        MailboxMessage.objects.filter(workspace=workspace), Scrubber(email), text=_NAMING_COLUMNS
    )


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
    granted = [getattr(mailbox, name) for name in OAUTH_FIELDS]
    for name in FIELDS:
        if name in data:
            setattr(mailbox, name, data[name])
    for name in SECRET_FIELDS:
        if data.get(name):
            setattr(mailbox, name, data[name])
    if [getattr(mailbox, name) for name in OAUTH_FIELDS] != granted:
        mailbox.oauth_access_token, mailbox.oauth_access_token_expires_at = "", None
    if mailbox.protocol == MailboxProtocol.POP3:
        mailbox.disposal = MailboxDisposal.DELETE  # POP3 has no folders to move to


@dataclass(frozen=True)
class TestOutcome:
    success: bool
    message: str
    kind: str = ""  # MailboxError.kind on failure: auth, connection, settings, server


def mailbox_oauth_connect(*, mailbox: BounceMailbox, code: str, redirect_uri: str) -> None:
    """Store the tokens the provider grants for its consent page's `code` (encrypted).

    Raises oauth.OAuthError when the provider refuses the code. The token request runs
    outside any transaction."""
    oauth.exchange_code(mailbox, code=code, redirect_uri=redirect_uri, now=timezone.now())


def signed_in(mailbox: BounceMailbox, run: Callable[[MailboxSettings], T], **overrides: Any) -> T:
    """`run(settings)`, whose settings sign in as the mailbox does.

    With OAuth2 they carry an access token: the stored one while it lives, else a refreshed
    one (stored). When the server refuses a stored token (revoked early), it is refreshed
    and `run` goes once more: a refused login has taken nothing from the mailbox. Raises
    MailboxError ("auth") when no token can be had or the server refuses a fresh one."""
    if mailbox.auth != MailboxAuth.OAUTH2:
        return run(settings_of(mailbox, **overrides))
    now = timezone.now()
    stored = mailbox.oauth_access_token
    token = _token(oauth.access_token, mailbox, now)
    try:
        return run(settings_of(mailbox, oauth_token=token, **overrides))
    except MailboxError as exc:
        if exc.kind != "auth":
            raise
        if token != stored:  # already a fresh token: the refusal stands
            log.warning("bounce mailbox %s: %s", mailbox.pk, exc)
            raise
    token = _token(oauth.refresh, mailbox, now)
    try:
        return run(settings_of(mailbox, oauth_token=token, **overrides))
    except MailboxError as exc:
        if exc.kind == "auth":
            log.warning("bounce mailbox %s: %s", mailbox.pk, exc)
        raise


def _token(get: Callable[[BounceMailbox, Any], str], mailbox: BounceMailbox, now: Any) -> str:
    try:
        return get(mailbox, now)
    except oauth.OAuthError as exc:
        log.warning("bounce mailbox %s: %s", mailbox.pk, exc)
        raise MailboxError(
            "auth",
            _("No OAuth2 access token could be had: %(error)s") % {"error": exc},
        ) from exc


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
        **{"timeout": 15.0, **overrides},
    )


def mailbox_test(*, mailbox: BounceMailbox, **overrides: Any) -> TestOutcome:
    """Log in and look at the folder, as a poll would, without taking anything.

    Not recorded on the mailbox: the poll's last error stays the poll's. `overrides` are
    MailboxSettings fields (tests pass the test server's TLS context)."""
    settings = settings_of(mailbox, **overrides)
    try:
        feedback._check(settings)
        probe = _imap_probe if settings.protocol == "imap" else _pop3_probe
        waiting = signed_in(mailbox, probe, **overrides)
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
