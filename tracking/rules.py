"""What Postroom does about a recorded event: suppress, mark, pause.

`apply` is called by every source right after `tracking.events.record` stored a new event,
inside the same transaction, so that a fact and what it caused are stored together.

The decision itself is `decide`, a pure function of the event's kind, bounce type, status
code and the address's recent soft bounces (table-tested); `apply` carries it out:

- a hard bounce of the address (unknown user, disabled mailbox, no code at all) suppresses
  it (reason bounced) and marks the delivery bounced; an unknown user (x.1.x) is an address
  error even when the report calls it soft;
- a soft bounce suppresses only as the BOUNCE_SOFT_LIMIT-th within BOUNCE_SOFT_DAYS;
- a refusal on policy (x.7.x) or of our sender (x.1.7, x.1.8) never suppresses the
  recipient: the address is fine (a hard one still marks the delivery bounced);
- a complaint suppresses at once (reason complained, over any earlier reason) and marks the
  recipient and the delivery complained; nothing but a person removes it (an import keeps a
  recipient's status and never touches the suppression list);
- an unsubscribe suppresses like the one-click link (`tracking.services.suppress_unsubscribed`).

A campaign whose bounce or complaint rate passes its threshold is paused with the reason,
through the campaign service (the same mover as the policy-refusal pause). Likewise the
warm-up ramp of the sending account that sent the message is held when the account's own
rates over its last days pass the warm-up thresholds (`sending.warmup`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Case, Count, Q, Value, When
from django.utils import timezone

from audience.models import Recipient, RecipientStatus, Suppression, SuppressionReason
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.selectors import forget_status_counts
from campaigns.services import CampaignError, campaign_pause
from core import reasons
from sending.models import SendingAccount
from sending.services import account_warmup_hold
from tracking.models import BounceType, Event, EventKind
from tracking.reasons import BOUNCE_RATE, COMPLAINT_RATE, WARMUP_BOUNCES, WARMUP_COMPLAINTS

SOURCE_MAX = Suppression._meta.get_field("source").max_length or 200
# Deliveries a bounce or complaint may mark: those a server took.
MARKABLE = (DeliveryStatus.SENT, DeliveryStatus.BOUNCED)
# Addresses per UPDATE that makes complaints outweigh earlier entries (two parameters each).
COMPLAINT_UPDATE_SIZE = 400


@dataclass(frozen=True)
class Decision:
    suppress: str = ""  # a SuppressionReason, or "" to leave the address alone
    delivery_status: str = ""  # what the delivery becomes, or "" to leave it
    recipient_status: str = ""  # likewise for the recipient
    counts_soft: bool = False  # a soft bounce that counts towards BOUNCE_SOFT_LIMIT
    unsubscribe: bool = False


NOTHING = Decision()


def bounce_cause(status_code: str) -> str:
    """`address`, `policy`, `sender` or `other`, from an RFC 3463 status code."""
    parts = status_code.split(".")
    if len(parts) != 3:
        return "other"
    _, subject, detail = parts
    if subject == "7":
        return "policy"
    if subject == "1":
        return "sender" if detail in ("7", "8") else "address"
    if (subject, detail) == ("2", "1"):
        return "address"  # the mailbox is disabled
    return "other"


def decide(kind: str, bounce_type: str, status_code: str, soft_before: int) -> Decision:
    """What an event of `kind` does, given the address's soft bounces before it (within
    BOUNCE_SOFT_DAYS). Pure: no database."""
    if kind == EventKind.COMPLAINED:
        return Decision(
            suppress=SuppressionReason.COMPLAINED,
            delivery_status=DeliveryStatus.COMPLAINED,
            recipient_status=RecipientStatus.COMPLAINED,
        )
    if kind == EventKind.UNSUBSCRIBED:
        return Decision(unsubscribe=True)
    if kind != EventKind.BOUNCED:
        return NOTHING
    cause = bounce_cause(status_code)
    if cause in ("policy", "sender"):
        # The server refused us, not the address: the recipient stays.
        hard = bounce_type == BounceType.HARD
        return Decision(delivery_status=DeliveryStatus.BOUNCED if hard else "")
    if bounce_type == BounceType.HARD or cause == "address":
        return Decision(
            suppress=SuppressionReason.BOUNCED,
            delivery_status=DeliveryStatus.BOUNCED,
            recipient_status=RecipientStatus.BOUNCED,
        )
    if soft_before + 1 >= int(settings.BOUNCE_SOFT_LIMIT):
        return Decision(
            suppress=SuppressionReason.BOUNCED,
            recipient_status=RecipientStatus.BOUNCED,
            counts_soft=True,
        )
    return Decision(counts_soft=True)


class RateCheck:
    """Campaigns whose rates are to be checked once, after a batch of events (a mailbox
    poll), instead of after each of them."""

    def __init__(self) -> None:
        self.campaign_ids: set[int] = set()
        self.account_ids: set[int] = set()  # sending accounts whose warm-up rates to check
        self.names: dict[int, str] = {}  # campaign names, read once per batch

    def check(self) -> set[int]:
        """Pause the campaigns past a threshold (returns those paused); hold the warm-ups
        of the accounts past theirs."""
        paused = {c for c in sorted(self.campaign_ids) if pause_if_rates_high(c)}
        self.campaign_ids.clear()
        for account_id in sorted(self.account_ids):
            hold_warmup_if_rates_high(account_id)
        self.account_ids.clear()
        return paused


def apply(event: Event, *, rates: RateCheck | None = None) -> Decision:
    """Act on a new event (the rules of DESIGN.md's feedback loops); returns what was decided.

    With `rates`, the campaign's rates are left for `rates.check()`; else checked now.
    """
    decision = decide(event.kind, event.bounce_type, event.status_code, _soft_before(event))
    if decision is NOTHING or not event.email:
        return decision
    if decision.unsubscribe:
        _unsubscribe(event)
        return decision
    if decision.suppress:
        _suppress(event, decision.suppress, _source(event, decision, rates))
    if decision.recipient_status:
        _mark_recipient(event, decision.recipient_status)
    if decision.delivery_status and event.delivery_id is not None:
        Delivery.objects.filter(
            pk=event.delivery_id, workspace_id=event.workspace_id, status__in=MARKABLE
        ).exclude(status=decision.delivery_status).update(
            status=decision.delivery_status, updated_at=timezone.now()
        )
        if event.campaign_id is not None:
            forget_status_counts([event.campaign_id])
            if rates is not None:
                rates.campaign_ids.add(event.campaign_id)
            else:
                pause_if_rates_high(event.campaign_id)
        _check_warmup(event.delivery_id, rates)
    return decision


def apply_batch(events: list[Event], *, rates: RateCheck) -> None:
    """`apply` for many new events of one source at once (a mailbox's fetched chunk), with
    one read of the addresses' soft bounces and set-based writes instead of a few statements
    per event; campaigns' rates are left for `rates.check()`.

    The outcome is `apply`'s, event after event, with one exception in order: unsubscribes
    are applied after the chunk's bounces and complaints, so an address that unsubscribed
    and bounced in the same chunk keeps the bounce as its suppression reason (either way it
    is suppressed), and its recipient is marked bounced. A complaint outweighs a bounce
    whatever their order, as in `apply`.
    """
    events = [e for e in events if e.email]
    soft = _soft_counts(events)
    suppress: dict[tuple[int, str], tuple[str, str]] = {}  # the first entry per address
    complaint: dict[tuple[int, str], str] = {}  # the first complaint's source per address
    people: dict[str, set[tuple[int, str]]] = {}  # recipient status -> addresses
    deliveries: dict[str, set[tuple[int, int]]] = {}  # delivery status -> (workspace, id)
    unsubscribed: list[Event] = []
    for event in events:
        address = (event.workspace_id, event.email)
        before = 0
        if event.kind == EventKind.BOUNCED and event.bounce_type == BounceType.SOFT:
            before = soft.get(address, 0)
            if bounce_cause(event.status_code) == "other":
                soft[address] = before + 1
        decision = decide(event.kind, event.bounce_type, event.status_code, before)
        if decision is NOTHING:
            continue
        if decision.unsubscribe:
            unsubscribed.append(event)
            continue
        if decision.suppress:
            source = _source(event, decision, rates)
            suppress.setdefault(address, (decision.suppress, source))
            if decision.suppress == SuppressionReason.COMPLAINED:
                complaint.setdefault(address, source)
        if decision.recipient_status:
            people.setdefault(decision.recipient_status, set()).add(address)
        if decision.delivery_status and event.delivery_id is not None:
            wanted = deliveries.setdefault(decision.delivery_status, set())
            wanted.add((event.workspace_id, event.delivery_id))
            if event.campaign_id is not None:
                rates.campaign_ids.add(event.campaign_id)
    _suppress_many(suppress, complaint)
    _mark_many(people, deliveries)
    forget_status_counts(rates.campaign_ids)  # the campaigns of the deliveries marked
    _unsubscribe_many(unsubscribed)
    # The accounts whose warm-up may have to hold: one read for the whole chunk.
    marked = [delivery_id for ids in deliveries.values() for _, delivery_id in ids]
    if marked:
        accounts = Delivery.objects.filter(pk__in=marked, account_id__isnull=False)
        rates.account_ids.update(accounts.values_list("account_id", flat=True).distinct())


def _soft_counts(events: list[Event]) -> dict[tuple[int, str], int]:
    """Per address, its soft bounces within BOUNCE_SOFT_DAYS stored before these events."""
    soft = [e for e in events if e.kind == EventKind.BOUNCED and e.bounce_type == BounceType.SOFT]
    if not soft:
        return {}
    days = timedelta(days=int(settings.BOUNCE_SOFT_DAYS))
    since = min(e.occurred_at for e in soft) - days
    earliest: dict[tuple[int, str], datetime] = {}
    for event in soft:
        address = (event.workspace_id, event.email)
        at = event.occurred_at - days
        earliest[address] = min(at, earliest.get(address, at))
    counts: dict[tuple[int, str], int] = {}
    for workspace_id in {e.workspace_id for e in soft}:
        emails = {e.email for e in soft if e.workspace_id == workspace_id}
        earlier = Event.objects.filter(
            workspace_id=workspace_id,
            email__in=emails,
            kind=EventKind.BOUNCED,
            bounce_type=BounceType.SOFT,
            occurred_at__gte=since,
        ).exclude(pk__in=[e.pk for e in soft])
        for email, status_code, at in earlier.values_list("email", "status_code", "occurred_at"):
            address = (workspace_id, email)
            if bounce_cause(status_code) == "other" and at >= earliest[address]:
                counts[address] = counts.get(address, 0) + 1
    return counts


def _suppress_many(
    suppress: dict[tuple[int, str], tuple[str, str]], complaint: dict[tuple[int, str], str]
) -> None:
    """One INSERT leaving existing entries alone; then complaints over earlier reasons."""
    rows = []
    for (workspace_id, email), (reason, source) in suppress.items():
        if (workspace_id, email) in complaint:  # the complaint is what the list shows
            reason, source = SuppressionReason.COMPLAINED, complaint[(workspace_id, email)]
        rows.append(
            Suppression(workspace_id=workspace_id, email=email, reason=reason, source=source)
        )
    if rows:
        Suppression.objects.bulk_create(rows, ignore_conflicts=True)
    sources: dict[int, dict[str, str]] = {}
    for (workspace_id, email), source in complaint.items():
        sources.setdefault(workspace_id, {})[email] = source
    for workspace_id, by_email in sorted(sources.items()):
        _complained_over_earlier(workspace_id, by_email)


def _complained_over_earlier(workspace_id: int, sources: dict[str, str]) -> None:
    """A complaint outweighs an earlier unsubscribe or bounce: the workspace's entries of
    these addresses become complained, each with its complaint's source, in one UPDATE per
    COMPLAINT_UPDATE_SIZE addresses. An entry complained already keeps its first source."""
    emails = sorted(sources)
    for start in range(0, len(emails), COMPLAINT_UPDATE_SIZE):
        part = emails[start : start + COMPLAINT_UPDATE_SIZE]
        source = Case(*(When(email=email, then=Value(sources[email])) for email in part))
        Suppression.objects.filter(workspace_id=workspace_id, email__in=part).exclude(
            reason=SuppressionReason.COMPLAINED
        ).update(reason=SuppressionReason.COMPLAINED, source=source)


def _mark_many(
    people: dict[str, set[tuple[int, str]]], deliveries: dict[str, set[tuple[int, int]]]
) -> None:
    """Recipients and deliveries marked with one UPDATE per status (and workspace): bounced
    first, so that complained, the strongest, is what stays."""
    now = timezone.now()
    for status in (RecipientStatus.BOUNCED, RecipientStatus.COMPLAINED):
        for workspace_id, emails in _by_workspace(people.get(status, set())).items():
            found = Recipient.objects.filter(workspace_id=workspace_id, email__in=emails)
            if status != RecipientStatus.COMPLAINED:
                found = found.exclude(status=RecipientStatus.COMPLAINED)
            found.exclude(status=status).update(status=status, updated_at=now)
    for marked in (DeliveryStatus.BOUNCED, DeliveryStatus.COMPLAINED):
        for workspace_id, ids in _by_workspace(deliveries.get(marked, set())).items():
            Delivery.objects.filter(
                pk__in=ids, workspace_id=workspace_id, status__in=MARKABLE
            ).exclude(status=marked).update(status=marked, updated_at=now)


def _by_workspace(pairs: set[tuple[int, Any]]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for workspace_id, value in sorted(pairs):
        grouped.setdefault(workspace_id, []).append(value)
    return grouped


def _check_warmup(delivery_id: int, rates: RateCheck | None) -> None:
    account_id = Delivery.objects.filter(pk=delivery_id).values_list("account_id", flat=True)
    found = account_id.first()
    if found is None:
        return
    if rates is not None:
        rates.account_ids.add(found)
    else:
        hold_warmup_if_rates_high(found)


def _soft_before(event: Event) -> int:
    if event.kind != EventKind.BOUNCED or event.bounce_type != BounceType.SOFT:
        return 0
    since = event.occurred_at - timedelta(days=int(settings.BOUNCE_SOFT_DAYS))
    earlier = Event.objects.filter(
        workspace_id=event.workspace_id,
        email=event.email,
        kind=EventKind.BOUNCED,
        bounce_type=BounceType.SOFT,
        occurred_at__gte=since,
    ).exclude(pk=event.pk)
    return sum(1 for e in earlier.only("status_code") if bounce_cause(e.status_code) == "other")


def _source(event: Event, decision: Decision, rates: RateCheck | None) -> str:
    """Which message or report the entry came from, for the suppression list."""
    campaign = ""
    if event.campaign_id is not None:
        names = rates.names if rates is not None else {}
        if event.campaign_id not in names:
            found = Campaign.objects.filter(pk=event.campaign_id).values_list("name", flat=True)
            names[event.campaign_id] = found.first() or ""
        campaign = f" to campaign “{names[event.campaign_id]}”"
    what = {
        EventKind.COMPLAINED: f"complaint ({event.detail or 'abuse'})",
        EventKind.BOUNCED: f"{event.bounce_type or 'hard'} bounce {event.status_code}".strip(),
    }.get(EventKind(event.kind), str(event.kind))
    if decision.counts_soft:
        what = f"{settings.BOUNCE_SOFT_LIMIT} soft bounces in {settings.BOUNCE_SOFT_DAYS} days"
    via = f" via {event.source}" + (f" “{event.source_detail}”" if event.source_detail else "")
    return f"{what}{campaign}{via} (event {event.pk})"[:SOURCE_MAX]


def _suppress(event: Event, reason: str, source: str) -> None:
    # One INSERT that leaves an existing entry alone (no savepoint, unlike get_or_create).
    Suppression.objects.bulk_create(
        [
            Suppression(
                workspace_id=event.workspace_id, email=event.email, reason=reason, source=source
            )
        ],
        ignore_conflicts=True,
    )
    if reason == SuppressionReason.COMPLAINED:
        # A complaint outweighs an earlier unsubscribe or bounce: it is what the list shows.
        Suppression.objects.filter(workspace_id=event.workspace_id, email=event.email).exclude(
            reason=reason
        ).update(reason=reason, source=source)


def _mark_recipient(event: Event, status: str) -> None:
    people = Recipient.objects.filter(workspace_id=event.workspace_id, email=event.email)
    if status != RecipientStatus.COMPLAINED:
        people = people.exclude(status=RecipientStatus.COMPLAINED)  # the strongest stays
    people.exclude(status=status).update(status=status, updated_at=timezone.now())


def _unsubscribe_many(events: list[Event]) -> None:
    """`_unsubscribe` for many events: one read of their deliveries (of each event's own
    workspace only), then the suppressions and recipients written set-based."""
    from tracking.services import suppress_unsubscribed_many  # services import rules

    events = [e for e in events if e.delivery_id is not None]
    if not events:
        return
    scoped = Q()
    for workspace_id, ids in _by_workspace(
        {(e.workspace_id, e.delivery_id) for e in events}
    ).items():
        scoped |= Q(workspace_id=workspace_id, pk__in=ids)
    found = {d.pk: d for d in Delivery.objects.select_related("campaign").filter(scoped)}
    suppress_unsubscribed_many(
        deliveries=[
            (found[e.delivery_id], f"unsubscribe request by {e.source}")
            for e in events
            if e.delivery_id in found and found[e.delivery_id].workspace_id == e.workspace_id
        ]
    )


def _unsubscribe(event: Event) -> None:
    from tracking.services import suppress_unsubscribed  # services import rules: no cycle

    if event.delivery_id is None:
        return
    delivery = (
        Delivery.objects.select_related("campaign")
        .filter(pk=event.delivery_id, workspace_id=event.workspace_id)
        .first()
    )
    if delivery is not None:
        suppress_unsubscribed(delivery=delivery, source=f"unsubscribe request by {event.source}")


def rates_of(campaign_id: int) -> tuple[int, int, int]:
    """A campaign's deliveries a server took, and of those the bounced and complained."""
    counts = dict(
        Delivery.objects.filter(
            campaign_id=campaign_id,
            status__in=(DeliveryStatus.SENT, DeliveryStatus.BOUNCED, DeliveryStatus.COMPLAINED),
        )
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    taken = sum(counts.values())
    return taken, counts.get(DeliveryStatus.BOUNCED, 0), counts.get(DeliveryStatus.COMPLAINED, 0)


def _past_rate(
    code: str, name: str, count: int, taken: int, limit: float, digits: int
) -> reasons.Reason | None:
    """The coded reason saying `count` (named `name`) of `taken` passed `limit` (a share), with
    both as percentages to `digits` places; None when it did not."""
    if count <= limit * taken:
        return None
    return reasons.reason(
        code,
        **{name: count},
        taken=taken,
        rate=round(count / taken * 100, digits),
        limit=round(limit * 100, digits),
    )


def pause_reason(taken: int, bounced: int, complained: int) -> reasons.Reason | None:
    """Why a campaign with these figures must pause, or None (pure: the thresholds).
    Complaints are said first: they weigh more."""
    if taken >= int(settings.CAMPAIGN_PAUSE_COMPLAINT_MIN_DELIVERIES) and (
        why := _past_rate(
            COMPLAINT_RATE,
            "complained",
            complained,
            taken,
            float(settings.CAMPAIGN_PAUSE_COMPLAINT_RATE),
            2,
        )
    ):
        return why
    if taken >= int(settings.CAMPAIGN_PAUSE_BOUNCE_MIN_DELIVERIES):
        return _past_rate(
            BOUNCE_RATE, "bounced", bounced, taken, float(settings.CAMPAIGN_PAUSE_BOUNCE_RATE), 1
        )
    return None


def pause_if_rates_high(campaign_id: int) -> bool:
    """Pause a running campaign whose bounce or complaint rate is past its threshold; True if
    it was paused now. A campaign not running is left as it is."""
    running = Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.RUNNING).first()
    if running is None:
        return False
    why = pause_reason(*rates_of(campaign_id))
    if why is None:
        return False
    with contextlib.suppress(CampaignError):  # paused or cancelled meanwhile
        campaign_pause(campaign=running, reason=why)
        return True
    return False


def account_rates(account_id: int, since: datetime) -> tuple[int, int, int]:
    """An account's messages a server took since `since`, and of those the bounced and
    complained (index delivery_account_sent)."""
    counts = dict(
        Delivery.objects.filter(
            account_id=account_id,
            sent_at__gte=since,
            status__in=(DeliveryStatus.SENT, DeliveryStatus.BOUNCED, DeliveryStatus.COMPLAINED),
        )
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    taken = sum(counts.values())
    return taken, counts.get(DeliveryStatus.BOUNCED, 0), counts.get(DeliveryStatus.COMPLAINED, 0)


def warmup_hold_reason(taken: int, bounced: int, complained: int) -> reasons.Reason | None:
    """Why a warming-up account with these figures must hold its ramp, or None (pure)."""
    if taken < int(settings.WARMUP_HOLD_MIN_DELIVERIES):
        return None
    return _past_rate(
        WARMUP_COMPLAINTS, "complained", complained, taken,
        float(settings.WARMUP_HOLD_COMPLAINT_RATE), 2,
    ) or _past_rate(
        WARMUP_BOUNCES, "bounced", bounced, taken, float(settings.WARMUP_HOLD_BOUNCE_RATE), 1
    )  # fmt: skip


def hold_warmup_if_rates_high(account_id: int) -> bool:
    """Hold the warm-up ramp of an account whose recent bounce or complaint rate is past
    its threshold; True if held now. Accounts not warming up, or held, are left alone."""
    warming = SendingAccount.objects.filter(
        pk=account_id, warmup_start__isnull=False, warmup_held_since__isnull=True
    )
    if not warming.exists():
        return False
    now = timezone.now()
    since = now - timedelta(days=int(settings.WARMUP_RATE_DAYS))
    why = warmup_hold_reason(*account_rates(account_id, since))
    return why is not None and account_warmup_hold(account_id=account_id, reason=why, now=now)
