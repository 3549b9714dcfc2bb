"""Writes for tracking: unsubscribes from the links in messages, bounce-mailbox polls, the
erasure of a person's events."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Workspace
from audience.models import Recipient, RecipientStatus, Suppression, SuppressionReason
from campaigns.models import Delivery
from tracking import rules
from tracking.events import Fact, record
from tracking.feedback.mailbox import (
    DEFAULT_MAX_MESSAGE_BYTES,
    BatchHandler,
    Handler,
    MailboxError,
    PollResult,
    PollState,
    poll,
)
from tracking.mailboxes import signed_in
from tracking.models import BounceMailbox, Event, EventKind, EventSource

log = logging.getLogger(__name__)


@transaction.atomic
def unsubscribe(*, delivery: Delivery, source: str = "") -> bool:
    """Unsubscribe the delivery's address by its link; True if it was not already.

    Idempotent: a second click (or a mail provider's one-click POST after a person's click)
    changes nothing and is recorded once (one `unsubscribed` event per delivery).
    """
    created = suppress_unsubscribed(delivery=delivery, source=source)
    fact = Fact(
        kind=EventKind.UNSUBSCRIBED,
        source=EventSource.LINK,
        dedupe_key=f"unsubscribe:{delivery.pk}",
    )
    event = record(fact, delivery=delivery)
    if event is not None:
        rules.apply(event)
    return created


@transaction.atomic
def suppress_unsubscribed(*, delivery: Delivery, source: str = "") -> bool:
    """Put the delivery's address on the suppression list as unsubscribed (no event: the
    caller recorded it); True if it was not there. No campaign of the workspace sends to it
    again, running ones included."""
    _, created = Suppression.objects.get_or_create(
        workspace_id=delivery.workspace_id,
        email=delivery.email,
        defaults={
            "reason": SuppressionReason.UNSUBSCRIBED,
            "source": _unsubscribed_source(delivery, source),
        },
    )
    Recipient.objects.filter(
        workspace_id=delivery.workspace_id, email=delivery.email, status=RecipientStatus.ACTIVE
    ).update(status=RecipientStatus.UNSUBSCRIBED, updated_at=timezone.now())
    return created


def suppress_unsubscribed_many(*, deliveries: list[tuple[Delivery, str]]) -> None:
    """`suppress_unsubscribed` for many (delivery, source) pairs at once (a mailbox's chunk
    of unsubscribe requests): one INSERT leaving existing entries alone, and one UPDATE of
    the active recipients per workspace. The deliveries come with their campaigns."""
    entries: dict[tuple[int, str], Suppression] = {}
    for delivery, source in deliveries:
        entries.setdefault(
            (delivery.workspace_id, delivery.email),
            Suppression(
                workspace_id=delivery.workspace_id,
                email=delivery.email,
                reason=SuppressionReason.UNSUBSCRIBED,
                source=_unsubscribed_source(delivery, source),
            ),
        )
    if not entries:
        return
    Suppression.objects.bulk_create(list(entries.values()), ignore_conflicts=True)
    emails: dict[int, set[str]] = {}
    for workspace_id, email in entries:
        emails.setdefault(workspace_id, set()).add(email)
    now = timezone.now()
    for workspace_id, addresses in sorted(emails.items()):
        Recipient.objects.filter(
            workspace_id=workspace_id, email__in=addresses, status=RecipientStatus.ACTIVE
        ).update(status=RecipientStatus.UNSUBSCRIBED, updated_at=now)


def _unsubscribed_source(delivery: Delivery, source: str) -> str:
    """What the suppression list says an unsubscribe came from."""
    return f"{source or 'unsubscribe link'} of “{delivery.campaign.name}”"[:200]


def events_erase(*, workspace: Workspace, email: str) -> int:
    """Delete every event of an address in a workspace (right to erasure); how many went.

    Named in settings.RECIPIENT_ERASERS, so that the audience's erasure, below this layer,
    removes a person's events too.
    """
    # Events keep addresses lowercased (events._event): the (workspace, email, …) index finds them.
    rows = Event.objects.filter(workspace=workspace, email=email.strip().lower())
    deleted, _ = rows.delete()
    return deleted


def bounce_mailbox_poll(
    *,
    mailbox: BounceMailbox,
    handle: Handler,
    handle_batch: BatchHandler | None = None,
    batch_size: int = 100,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ssl_context: ssl.SSLContext | None = None,
) -> PollResult:
    """Take one batch of new messages from `mailbox`, hand each to `handle`, and store where
    the poll got to (and when), so the next poll goes on from there.

    Raises MailboxError (after recording it on the row, for the user to see) when the mailbox
    cannot be read: wrong password, a refused OAuth2 token, unreachable server, TLS failure,
    impossible settings. An OAuth2 access token is refreshed and stored as it expires.
    A failing `handle` is not an error of the mailbox: it is in the result, the message stays.

    Not atomic on purpose: no transaction is held open across a conversation with a mail
    server; `handle` writes in transactions of its own, and the state saved last only moves
    past messages that were handled.
    """
    state = PollState(
        uidvalidity=mailbox.uidvalidity,
        last_uid=mailbox.last_uid,
        skipped=frozenset(mailbox.skipped_uidls or ()),
    )
    now = timezone.now()
    try:
        result = signed_in(
            mailbox,
            lambda settings: poll(settings, state, handle, handle_batch),
            batch_size=batch_size,
            max_message_bytes=max_message_bytes,
            ssl_context=ssl_context,
            timeout=30.0,
        )
    except MailboxError as exc:
        mailbox.last_error, mailbox.last_error_at, mailbox.last_polled_at = (
            str(exc)[:1000],
            now,
            now,
        )
        mailbox.save(update_fields=["last_error", "last_error_at", "last_polled_at"])
        raise
    mailbox.uidvalidity = result.state.uidvalidity
    mailbox.last_uid = result.state.last_uid
    mailbox.skipped_uidls = sorted(result.state.skipped)
    mailbox.last_polled_at = now
    mailbox.last_error = ""
    mailbox.save(
        update_fields=["uidvalidity", "last_uid", "skipped_uidls", "last_polled_at", "last_error"]
    )
    return result


@dataclass
class MailboxRound:
    """What one round over the workspaces' mailboxes did."""

    polled: int = 0
    failed: int = 0
    more: bool = False  # a mailbox has more messages waiting: poll again soon
    counts: dict[str, int] = field(default_factory=dict)


def bounce_mailboxes_poll_due(
    *, now: datetime | None = None, ssl_context: ssl.SSLContext | None = None
) -> MailboxRound:
    """Poll every enabled mailbox whose last poll is BOUNCE_MAILBOX_INTERVAL old (or that had
    more waiting), one batch each, handing every message to `tracking.intake`.

    A mailbox that fails (wrong password, server away, a fault in handling) keeps its error
    on its row for the user and is counted in `failed`; the others go on. A mailbox is taken
    by a conditional UPDATE of its poll time, so two workers never poll it at once.
    """
    now = now or timezone.now()
    interval = timedelta(seconds=float(settings.BOUNCE_MAILBOX_INTERVAL))
    due = BounceMailbox.objects.filter(enabled=True).filter(
        Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=now - interval)
    )
    outcome = MailboxRound()
    for mailbox in due.order_by("last_polled_at", "pk")[:100]:
        taken = BounceMailbox.objects.filter(
            pk=mailbox.pk, last_polled_at=mailbox.last_polled_at
        ).update(last_polled_at=now)
        if not taken:
            continue  # another worker has it
        outcome.polled += 1
        try:
            more = _poll_one(mailbox, outcome, ssl_context)
        except MailboxError as exc:
            outcome.failed += 1
            log.warning("bounce mailbox %s: %s", mailbox.pk, exc)
            continue
        except Exception as exc:  # a bug or the database: recorded, the next mailbox goes on
            outcome.failed += 1
            log.exception("bounce mailbox %s failed", mailbox.pk)
            BounceMailbox.objects.filter(pk=mailbox.pk).update(
                last_error=f"{type(exc).__name__}: {exc}"[:1000], last_error_at=timezone.now()
            )
            continue
        if more:
            # due again at once: the next round goes on where this one stopped
            BounceMailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=now - interval)
            outcome.more = True
    return outcome


def _poll_one(
    mailbox: BounceMailbox, outcome: MailboxRound, ssl_context: ssl.SSLContext | None
) -> bool:
    from tracking.intake import MailboxIntake  # intake applies the rules, which use this module

    intake = MailboxIntake(mailbox)
    try:
        result = bounce_mailbox_poll(
            mailbox=mailbox,
            handle=intake,
            handle_batch=intake.batch if settings.BOUNCE_MAILBOX_BATCH_WRITES else None,
            batch_size=int(settings.BOUNCE_MAILBOX_BATCH),
            max_message_bytes=int(settings.BOUNCE_MAILBOX_MAX_BYTES),
            ssl_context=ssl_context,
        )
        for skipped in result.skipped:
            intake.skipped(skipped)
    finally:
        counts = intake.finish()  # what was handled counts, and pauses, even after a fault
        for name, value in counts.counts.items():
            outcome.counts[name] = outcome.counts.get(name, 0) + value
    if result.failed:
        BounceMailbox.objects.filter(pk=mailbox.pk).update(
            last_error=f"a message could not be handled: {result.error}"[:1000],
            last_error_at=timezone.now(),
        )
        raise MailboxError("server", result.error)
    return result.more
