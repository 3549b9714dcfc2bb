"""What is done with each message taken from a bounce mailbox: find the delivery it is about,
record what it says as events, and let the rules act on them.

The delivery is found, within the mailbox's workspace only:
1. by the VERP token of the return path it came back to (signed: a forged one matches
   nothing, and a genuine one of another workspace's delivery changes nothing);
2. else by the Message-ID of ours it returns or answers (signed likewise);
3. else, only when it carries no token at all, for a bounce or a complaint, by the failed
   address (Final-Recipient/Original-Recipient, the complainant) among the workspace's
   deliveries of the last BOUNCE_MATCH_DAYS.

Every message leaves one `MailboxMessage` row saying what became of it (recorded, ignored,
unmatched, unparsed, skipped), so that nothing is silently dropped; its key (the mailbox and
the message's own Message-ID) makes a message seen twice count once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from mailparser_reply import EmailReplyParser  # type: ignore[import-untyped]

from campaigns.models import Delivery, DeliveryStatus
from tracking import events, rules
from tracking.feedback import verp
from tracking.feedback.mailbox import Incoming, Skipped
from tracking.feedback.parse import Affected, Feedback, Kind
from tracking.models import (
    BounceMailbox,
    BounceType,
    EventKind,
    EventSource,
    MailboxMessage,
    MailboxOutcome,
)

EXCERPT_BYTES = 4000
REPLY_LANGUAGES = ["en", "ru", "de", "fr", "es"]
# Kinds that say nothing to act on.
_IGNORED = {Kind.DELAYED: "a delayed delivery report: nothing changes", Kind.AUTO_REPLY: ""}
_EVENT_KIND = {
    Kind.HARD_BOUNCE: EventKind.BOUNCED,
    Kind.SOFT_BOUNCE: EventKind.BOUNCED,
    Kind.COMPLAINT: EventKind.COMPLAINED,
    Kind.REPLY: EventKind.REPLIED,
    Kind.UNSUBSCRIBE: EventKind.UNSUBSCRIBED,
}
_SENT = (DeliveryStatus.SENT, DeliveryStatus.BOUNCED, DeliveryStatus.COMPLAINED)
# What an event and its dedupe key take of a matched delivery: the rest of the row (and its
# campaign) would be read and built for nothing, hundreds of times per chunk.
_MATCHED_FIELDS = ("id", "workspace_id", "campaign_id", "account_id", "email")
_OWN_ID = re.compile(rb"^message-id:[ \t]*(<[^<>\s]{1,250}>)", re.IGNORECASE | re.MULTILINE)


@dataclass
class IntakeCounts:
    """What one poll's messages came to, by outcome; and the campaigns to check."""

    counts: dict[str, int] = field(default_factory=dict)
    events: int = 0
    rates: rules.RateCheck = field(default_factory=rules.RateCheck)

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1


class MailboxIntake:
    """The handler `bounce_mailbox_poll` calls per message, for one mailbox.

    Each message is written in one transaction (its row, its events and what the rules do),
    so a failure leaves nothing half done and the poller keeps the message for next time.
    Call `finish()` after the poll: campaigns past their bounce or complaint rate pause then.
    """

    def __init__(self, mailbox: BounceMailbox) -> None:
        self.mailbox = mailbox
        self.result = IntakeCounts()

    def __call__(self, incoming: Incoming) -> None:
        key = _key(incoming)
        with transaction.atomic():
            if MailboxMessage.objects.filter(mailbox=self.mailbox, key=key).exists():
                self.result.add("duplicate")
                return
            outcome, note, recorded = self._handle(incoming.feedback, key)
            self._keep(key, incoming, outcome, note, recorded)
        self.result.add(outcome)
        self.result.events += recorded

    def batch(self, messages: list[Incoming]) -> None:
        """Handle a fetched chunk in one transaction: one read of the rows, one of the
        deliveries its tokens and Message-IDs name and one of those its address-only reports
        name, one INSERT of its events, the rules applied with set-based updates
        (`rules.apply_batch`), one INSERT of its rows: the queries do not grow with the
        chunk. Raises having written nothing (the poller then hands the messages over one by
        one)."""
        counts = IntakeCounts()
        with transaction.atomic():
            keys = [_key(incoming) for incoming in messages]
            seen = set(
                MailboxMessage.objects.filter(mailbox=self.mailbox, key__in=set(keys)).values_list(
                    "key", flat=True
                )
            )
            found = self._known([m.feedback for m in messages])
            facts: list[tuple[Delivery, events.Fact]] = []
            rows: list[tuple[str, Incoming, str, str, list[str]]] = []
            for key, incoming in zip(keys, messages, strict=True):
                if key in seen:
                    counts.add("duplicate")
                    continue
                seen.add(key)  # the same message twice in one chunk counts once
                outcome, note, pairs = self._plan(incoming.feedback, found)
                dedupes = []
                for delivery, affected in pairs:
                    dedupe = _dedupe(self.mailbox, key, delivery)
                    facts.append(
                        (delivery, _fact(incoming.feedback, affected, self.mailbox, dedupe))
                    )
                    dedupes.append(dedupe)
                rows.append((key, incoming, outcome, note, dedupes))
            stored = events.record_many(facts)
            rules.apply_batch(stored, rates=self.result.rates)
            made = {event.dedupe_key for event in stored}
            MailboxMessage.objects.bulk_create(
                [
                    self._row(key, incoming, outcome, note, sum(d in made for d in dedupes))
                    for key, incoming, outcome, note, dedupes in rows
                ]
            )
        for row in rows:
            counts.add(row[2])
        self.result.events += len(stored)
        for name, value in counts.counts.items():
            self.result.counts[name] = self.result.counts.get(name, 0) + value

    def _known(self, feedbacks: list[Feedback]) -> Known:
        """The deliveries of this workspace a chunk is about: those its tokens and Message-IDs
        name, and those its address-only reports name, one read each."""
        return Known(self._deliveries(feedbacks), self._by_address(feedbacks))

    def _deliveries(self, feedbacks: list[Feedback]) -> dict[int, Delivery]:
        """The deliveries of this workspace that the chunk's tokens and Message-IDs name, in
        one read (a signed token of another workspace's delivery finds nothing)."""
        ids = {i for f in feedbacks if (i := verp.delivery_of_feedback(f)) is not None}
        if not ids:
            return {}
        found = Delivery.objects.filter(pk__in=ids, workspace_id=self.mailbox.workspace_id)
        return {d.pk: d for d in found.only(*_MATCHED_FIELDS)}

    def _by_address(self, feedbacks: list[Feedback]) -> dict[str, Delivery]:
        """Per failed address (lowercased) of the reports that name no message of ours, this
        workspace's latest delivery to it of the last BOUNCE_MATCH_DAYS: one read for all."""
        addresses = {
            affected.address.lower()
            for feedback in feedbacks
            if _matched_by_address(feedback)
            for affected in feedback.recipients
            if affected.kind != Kind.DELAYED and affected.address
        }
        if not addresses:
            return {}
        latest: dict[str, Delivery] = {}
        for delivery in sent_to(self.mailbox.workspace_id, addresses):
            latest.setdefault(delivery.email.lower(), delivery)  # newest first: it stays
        return latest

    def _plan(
        self, feedback: Feedback, found: Known
    ) -> tuple[str, str, list[tuple[Delivery, Affected | None]]]:
        """What a message comes to: its outcome, why, and the deliveries it is about."""
        if feedback.kind == Kind.UNPARSED:
            return MailboxOutcome.UNPARSED, feedback.note, []
        if feedback.kind in _IGNORED or feedback.kind not in _EVENT_KIND:
            note = _IGNORED.get(feedback.kind) or f"{feedback.kind}: nothing to do"
            return MailboxOutcome.IGNORED, note, []
        pairs, note = self._match(feedback, found)
        if not pairs:
            return MailboxOutcome.UNMATCHED, note, []
        return MailboxOutcome.RECORDED, note, pairs

    def skipped(self, skipped: Skipped) -> None:
        """A message left in the mailbox as too large: kept as a row, counted."""
        key = f"{skipped.key}:skipped"
        if MailboxMessage.objects.filter(mailbox=self.mailbox, key=key).exists():
            return
        with transaction.atomic():
            MailboxMessage.objects.create(
                workspace_id=self.mailbox.workspace_id,
                mailbox=self.mailbox,
                key=key,
                outcome=MailboxOutcome.SKIPPED,
                note=skipped.reason[:1000],
                size=min(skipped.size, 2**31 - 1),
            )
        self.result.add(MailboxOutcome.SKIPPED)

    def finish(self) -> IntakeCounts:
        self.result.rates.check()
        return self.result

    # ------------------------------------------------------------------ one message

    def _handle(self, feedback: Feedback, key: str) -> tuple[str, str, int]:
        if feedback.kind == Kind.UNPARSED:
            return MailboxOutcome.UNPARSED, feedback.note, 0
        if feedback.kind in _IGNORED or feedback.kind not in _EVENT_KIND:
            note = _IGNORED.get(feedback.kind) or f"{feedback.kind}: nothing to do"
            return MailboxOutcome.IGNORED, note, 0
        pairs, note = self._match(feedback)
        if not pairs:
            return MailboxOutcome.UNMATCHED, note, 0
        recorded = 0
        for delivery, affected in pairs:
            fact = _fact(feedback, affected, self.mailbox, _dedupe(self.mailbox, key, delivery))
            event = events.record(fact, delivery=delivery)
            if event is not None:
                rules.apply(event, rates=self.result.rates)
                recorded += 1
        return MailboxOutcome.RECORDED, note, recorded

    def _match(
        self, feedback: Feedback, known: Known | None = None
    ) -> tuple[list[tuple[Delivery, Affected | None]], str]:
        """The deliveries of this workspace the message is about, each with the recipient
        entry of the report that names it; else [] and why. `known`: the deliveries read
        for the whole chunk (`_known`), else they are read here for this message alone."""
        if known is None:
            known = self._known([feedback])
        found = verp.delivery_of_feedback(feedback)
        if found is not None:
            delivery = known.by_id.get(found)
            if delivery is None:
                return [], "names a delivery that is not one of this workspace's"
            return [(delivery, _entry_for(feedback, delivery.email))], ""
        if feedback.verp_token:
            return [], "its return-path token is not valid (forged or damaged)"
        if not _matched_by_address(feedback):
            return [], "it names no message of ours"
        pairs: list[tuple[Delivery, Affected | None]] = []
        for affected in feedback.recipients:
            if affected.kind == Kind.DELAYED:  # one recipient of a report that failed others
                continue
            delivery = known.by_address.get(affected.address.lower())
            if delivery is not None:
                pairs.append((delivery, affected))
        return pairs, "" if pairs else "no recent delivery of this workspace to its address"

    def _keep(self, key: str, incoming: Incoming, outcome: str, note: str, events_: int) -> None:
        # A row raced in by another poll fails the unique key: the caller's transaction
        # rolls back (its events too) and the poller leaves the message for the next time.
        self._row(key, incoming, outcome, note, events_).save(force_insert=True)

    def _row(
        self, key: str, incoming: Incoming, outcome: str, note: str, events_: int
    ) -> MailboxMessage:
        feedback = incoming.feedback
        return MailboxMessage(
            workspace_id=self.mailbox.workspace_id,
            mailbox=self.mailbox,
            key=key,
            outcome=outcome,
            kind=str(feedback.kind),
            events=events_,
            note=note[:1000],
            subject=feedback.subject[:1000],
            sender=feedback.sender[:320],
            excerpt=_excerpt(incoming.raw) if outcome != MailboxOutcome.RECORDED else "",
            size=min(incoming.size, 2**31 - 1),
        )


def sent_to(workspace_id: int, addresses: set[str]) -> QuerySet[Delivery]:
    """The workspace's deliveries of the last BOUNCE_MATCH_DAYS to these lowercased
    addresses, newest first: read through the (workspace, lower(email)) index."""
    since = timezone.now() - timedelta(days=int(settings.BOUNCE_MATCH_DAYS))
    return (
        Delivery.objects.annotate(address=Lower("email"))
        .filter(
            workspace_id=workspace_id,
            address__in=addresses,
            status__in=_SENT,
            sent_at__gte=since,
        )
        .only(*_MATCHED_FIELDS)
        .order_by("-sent_at", "-id")
    )


@dataclass(frozen=True)
class Known:
    """The deliveries read for a chunk: by id (its tokens and Message-IDs) and by lowercased
    address (its reports that name no message of ours)."""

    by_id: dict[int, Delivery]
    by_address: dict[str, Delivery]


def _matched_by_address(feedback: Feedback) -> bool:
    """Whether the message is matched by its failed addresses: a bounce or a complaint that
    names no delivery of ours and carries no token at all (a forged one matches nothing)."""
    return (
        feedback.kind in (Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE, Kind.COMPLAINT)
        and not feedback.verp_token
        and verp.delivery_of_feedback(feedback) is None
    )


def _entry_for(feedback: Feedback, address: str) -> Affected | None:
    """The report's entry for the delivery's address; else its first of the message's kind
    (a forwarded address comes back as another)."""
    wanted = address.lower()
    for affected in feedback.recipients:
        if affected.address.lower() == wanted:
            return affected
    return next((r for r in feedback.recipients if r.kind == feedback.kind), None)


def _fact(
    feedback: Feedback, affected: Affected | None, mailbox: BounceMailbox, dedupe: str
) -> events.Fact:
    kind = feedback.kind
    if affected is not None and affected.kind in (Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE):
        kind = affected.kind  # this recipient's own verdict, in a report about several
    detail = ""
    if kind in (Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE):
        detail = affected.diagnostic if affected is not None else feedback.diagnostic
    elif kind == Kind.COMPLAINT:
        detail = feedback.feedback_type or "abuse"
    elif kind == Kind.REPLY:
        detail = reply_text(feedback.text)
    return events.Fact(
        kind=_EVENT_KIND[kind],
        source=EventSource.MAILBOX,
        bounce_type={Kind.HARD_BOUNCE: BounceType.HARD, Kind.SOFT_BOUNCE: BounceType.SOFT}.get(
            kind, ""
        ),
        status_code=(affected.status if affected is not None else feedback.status) or "",
        detail=detail,
        # A person's own message: who wrote it (a bounce's or report's From is a machine's).
        sender=feedback.sender if kind in (Kind.REPLY, Kind.UNSUBSCRIBE) else "",
        source_detail=mailbox.name,
        dedupe_key=dedupe,
    )


def reply_text(text: str) -> str:
    """A reply's own words: the quoted message and the signature left out."""
    try:
        own = EmailReplyParser(languages=REPLY_LANGUAGES).parse_reply(text=text)
    except Exception:  # a library fault on odd text: the text as it came, cut
        own = text
    return (own or text).strip()


def _key(incoming: Incoming) -> str:
    """The mailbox's key for a message: its own Message-ID, else a digest of its bytes (the
    poller's UID changes when a mailbox is rebuilt; the message does not)."""
    head = incoming.raw[:65536].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = _OWN_ID.search(head)
    if found is not None:
        return "mid:" + found.group(1).decode("ascii", "replace")
    return "sha256:" + hashlib.sha256(incoming.raw).hexdigest()


def _dedupe(mailbox: BounceMailbox, key: str, delivery: Delivery) -> str:
    """The event's dedupe key: this mailbox, this message, this delivery."""
    value = f"mailbox:{mailbox.pk}:{key}:{delivery.pk}"
    if len(value) <= 200:
        return value
    return f"mailbox:{mailbox.pk}:sha256:" + hashlib.sha256(value.encode()).hexdigest()


def _excerpt(raw: bytes) -> str:
    """The message's start as text, for a person to see why it was not understood."""
    text = raw[:EXCERPT_BYTES].decode("utf-8", "replace").replace("\x00", "")
    return text
