"""Send: render and send a claimed batch, and say what happened to each delivery.

Per batch: the campaign's template is compiled once (and kept for the next batches), the
suppression list is checked again for the batch's addresses (an unsubscribe stops a running
campaign), each delivery takes room on one of the campaign's accounts (rotating across them),
and messages go out over one connection per account. Nothing is written here: the outcomes go
to `record.write_outcomes` in one go.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from audience.models import Suppression
from audience.selectors import custom_fields, recipient_values
from campaigns import links
from campaigns.engine.retry import RetryPolicy
from campaigns.models import AttemptOutcome, Campaign, CampaignStatus, Delivery, DeliveryStatus
from content.rendering import CompiledTemplate, RenderError, TemplateParts, compile_template
from content.selectors import template_attachments
from content.syntax import ContentError
from sending import quota
from sending.models import AccountStatus, SendingAccount
from sending.transports.base import OutgoingMessage, SendKind, SendResult, Transport
from sending.transports.factory import transport_for

log = logging.getLogger(__name__)

# How long a delivery waits when its account's server could not be reached.
ACCOUNT_BACKOFF = timedelta(seconds=60)
# Compiled templates a worker keeps between batches (one per recently sent campaign).
PREPARED_KEEP = 32
# How often a batch looks at its campaign's status, so that pause and cancel act within it.
STATUS_CHECK_SECONDS = 0.5


@dataclass
class Outcome:
    """What the record step writes for one delivery."""

    delivery_id: int
    status: str
    next_attempt_at: datetime | None = None
    attempt: str | None = None  # AttemptOutcome, or None when nothing was tried
    spend_attempt: bool = False
    account_id: int | None = None
    code: int | None = None
    enhanced: str = ""
    reply: str = ""
    message_id: str = ""
    suppress: bool = False
    account_error: str = ""  # the account's credentials were refused: it goes to error


@dataclass
class Prepared:
    """A campaign's state that does not change between batches."""

    template: CompiledTemplate
    field_keys: list[str]


def frozen_parts(campaign: Campaign, *, with_attachments: bool = True) -> TemplateParts:
    """The content frozen at the start, with the template's files as they are now.

    The text is frozen; the files are read when the campaign's first batch is prepared
    (copying every file at each start would cost more than it protects). Raises ContentError
    when a file cannot be read.
    """
    content = campaign.content
    template_id = content.get("template_id")
    files = (
        template_attachments(campaign.workspace, int(template_id))
        if with_attachments and template_id is not None
        else ()
    )
    return TemplateParts(
        subject=content.get("subject", ""),
        html=content.get("html", ""),
        text=content.get("text", ""),
        text_from_html=bool(content.get("text_from_html", False)),
        attachments=files,
    )


@dataclass
class Sender:
    """Sends batches for one worker; keeps compiled templates between batches."""

    policy: RetryPolicy
    prepared: dict[int, Prepared] = field(default_factory=dict)

    def prepare(self, campaign: Campaign) -> Prepared:
        if campaign.pk not in self.prepared:
            if len(self.prepared) >= PREPARED_KEEP:  # a worker lives long: forget the oldest
                del self.prepared[next(iter(self.prepared))]
            keys = list(custom_fields(campaign.workspace).values_list("key", flat=True))
            self.prepared[campaign.pk] = Prepared(compile_template(frozen_parts(campaign)), keys)
        return self.prepared[campaign.pk]

    def send_batch(self, deliveries: list[Delivery], now: datetime) -> list[Outcome]:
        by_campaign: dict[int, list[Delivery]] = {}
        for delivery in deliveries:
            by_campaign.setdefault(delivery.campaign_id, []).append(delivery)
        outcomes: list[Outcome] = []
        for items in by_campaign.values():
            outcomes += self._send_campaign(items[0].campaign, items, now)
        return outcomes

    def _send_campaign(
        self, campaign: Campaign, items: list[Delivery], now: datetime
    ) -> list[Outcome]:
        outcomes, live = _expire_or_suppress(campaign, items, now)
        if not live:
            return outcomes
        try:
            prepared = self.prepare(campaign)
        except ContentError as exc:  # the frozen content cannot be compiled: nothing can go out
            return outcomes + [_final(d, DeliveryStatus.OTHER_ERROR, str(exc)) for d in live]
        rotation = AccountRotation(list(campaign.accounts.all()))
        plan, no_room = rotation.allocate(live, now)
        outcomes += [_waiting(d, no_room, now) for d in plan.waiting]
        watch = StatusWatch(campaign)
        stopped: str | None = None
        try:
            for share in plan.shares:
                if stopped is None:
                    stopped = self._send_share(campaign, prepared, rotation, share, watch, now)
                # Whatever the share did not send goes back: to the queue and to the quota.
                outcomes += share.outcomes
                outcomes += [_released(d, stopped or "", now) for d in share.unsent]
                quota.release(share.reservation, share.unspent + len(share.unsent))
        finally:
            rotation.close()
        return outcomes

    def _send_share(
        self,
        campaign: Campaign,
        prepared: Prepared,
        rotation: AccountRotation,
        share: Share,
        watch: StatusWatch,
        now: datetime,
    ) -> str | None:
        """Send one account's part of the batch; returns the campaign's status if it stopped."""
        account = share.account
        while share.unsent:
            stopped = watch.stopped_as()
            if stopped is not None:  # paused or cancelled meanwhile: start nothing new
                return stopped
            if not rotation.usable(account):  # refused or unreachable: the rest waits
                share.outcomes += [
                    _account_down(d, rotation.fault(account), now) for d in share.unsent
                ]
                share.unspent += len(share.unsent)
                share.unsent = []
                return None
            delivery = share.unsent.pop(0)
            message_id = links.message_id_for(delivery.pk, campaign.pk, account.from_domain)
            try:
                message = _render(prepared, campaign, delivery, account, message_id)
            except RenderError as exc:
                share.unspent += 1
                share.outcomes.append(_final(delivery, DeliveryStatus.OTHER_ERROR, str(exc)))
                continue
            result = rotation.send(account, message)
            if not result.ok and result.kind != SendKind.AMBIGUOUS:
                share.unspent += 1
            share.outcomes.append(
                self._outcome(campaign, delivery, account, message_id, result, now)
            )
        return None

    def _outcome(
        self,
        campaign: Campaign,
        delivery: Delivery,
        account: SendingAccount,
        message_id: str,
        result: SendResult,
        now: datetime,
    ) -> Outcome:
        outcome = Outcome(
            delivery.pk,
            DeliveryStatus.SENT,
            attempt=str(result.kind),
            spend_attempt=True,
            account_id=account.pk,
            code=result.code,
            enhanced=result.enhanced or "",
            reply=result.reply,
            message_id=message_id,
        )
        kind = result.kind
        if kind == SendKind.SENT:
            return outcome
        if kind == SendKind.PERMANENT:
            outcome.suppress = result.suppress
            outcome.status = DeliveryStatus.NOT_FOUND if result.suppress else DeliveryStatus.FAILED
            return outcome
        if kind in (SendKind.AUTH, SendKind.CONNECTION):
            # The account's fault: the delivery keeps its attempts and waits, or moves to
            # another account at once when this one's credentials were refused.
            outcome.spend_attempt = False
            outcome.status = DeliveryStatus.DEFERRED
            outcome.account_error = result.reply if kind == SendKind.AUTH else ""
            outcome.next_attempt_at = now if kind == SendKind.AUTH else now + ACCOUNT_BACKOFF
            return outcome
        # Temporary, or ambiguous (retried with the same Message-ID).
        tries = delivery.attempts + 1
        if tries >= campaign.max_attempts:
            outcome.status = DeliveryStatus.FAILED
            return outcome
        outcome.status = DeliveryStatus.DEFERRED
        outcome.next_attempt_at = self.policy.next_try(tries, now)
        return outcome


def _final(delivery: Delivery, status: str, reply: str) -> Outcome:
    return Outcome(delivery.pk, status, reply=reply)


def _waiting(delivery: Delivery, no_room: quota.NoRoom | None, now: datetime) -> Outcome:
    """No account has room for it now: it waits, without spending an attempt."""
    until = no_room.until if no_room is not None else None
    reason = no_room.reason if no_room is not None else "no room"
    return Outcome(
        delivery.pk, DeliveryStatus.DEFERRED, next_attempt_at=until or now + ACCOUNT_BACKOFF,
        reply=reason,
    )  # fmt: skip


def _account_down(delivery: Delivery, fault: SendResult | None, now: datetime) -> Outcome:
    """Its account failed on an earlier message of the batch: it waits without an attempt
    (at once for another account after a refused password, after a pause otherwise)."""
    auth = fault is not None and fault.kind == SendKind.AUTH
    return Outcome(
        delivery.pk,
        DeliveryStatus.DEFERRED,
        next_attempt_at=now if auth else now + ACCOUNT_BACKOFF,
        reply=fault.reply if fault is not None else "the account failed",
    )


def _released(delivery: Delivery, campaign_status: str, now: datetime) -> Outcome:
    """Not tried because the campaign stopped: back in the queue, or cancelled with it."""
    if campaign_status == CampaignStatus.CANCELLED:
        return Outcome(delivery.pk, DeliveryStatus.CANCELLED)
    return Outcome(delivery.pk, DeliveryStatus.QUEUED, next_attempt_at=now)


class StatusWatch:
    """Re-reads a campaign's status at most every STATUS_CHECK_SECONDS."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign_id = campaign.pk
        self.checked = time.monotonic()

    def stopped_as(self) -> str | None:
        """The campaign's status if it is no longer running, else None."""
        if time.monotonic() - self.checked < STATUS_CHECK_SECONDS:
            return None
        self.checked = time.monotonic()
        status = Campaign.objects.values_list("status", flat=True).get(pk=self.campaign_id)
        return None if status == CampaignStatus.RUNNING else status


def _expire_or_suppress(
    campaign: Campaign, items: list[Delivery], now: datetime
) -> tuple[list[Outcome], list[Delivery]]:
    """Deliveries past the campaign's lifetime end; suppressed addresses are not sent to."""
    outcomes: list[Outcome] = []
    live: list[Delivery] = []
    started = campaign.launched_at or now
    expired = now - started > timedelta(seconds=campaign.lifetime_seconds)
    suppressed = set(
        Suppression.objects.filter(
            workspace_id=campaign.workspace_id, email__in=[d.email for d in items]
        ).values_list("email", flat=True)
    )
    for delivery in items:
        if delivery.email in suppressed:
            outcomes.append(
                Outcome(
                    delivery.pk,
                    DeliveryStatus.SUPPRESSED,
                    attempt=AttemptOutcome.SUPPRESSED,
                    reply="The address is on the suppression list.",
                )
            )
        elif expired:
            status = (
                DeliveryStatus.CONNECTION_ERROR
                if _unreachable(delivery)
                else DeliveryStatus.EXPIRED
            )
            outcomes.append(_final(delivery, status, "Not sent within the campaign's lifetime."))
        else:
            live.append(delivery)
    return outcomes, live


def _unreachable(delivery: Delivery) -> bool:
    """No server ever answered for this delivery: every try failed on the account's side."""
    return delivery.attempts == 0 and delivery.last_code is None and bool(delivery.last_reply)


def delivery_values(
    delivery: Delivery, token: str, field_keys: list[str] | None = None
) -> dict[str, str]:
    """What a delivery's placeholders are filled with: its recipient's fields and its links."""
    person = delivery.recipient
    values = recipient_values(person, field_keys) if person is not None else {}
    return {
        **values,
        "email": delivery.email,
        "unsubscribe_url": links.unsubscribe_url(token),
        "view_in_browser_url": links.view_url(token),
    }


def _render(
    prepared: Prepared,
    campaign: Campaign,
    delivery: Delivery,
    account: SendingAccount,
    message_id: str,
) -> OutgoingMessage:
    token = links.token_for(delivery.pk)
    rendered = prepared.template.render(
        delivery_values(delivery, token, prepared.field_keys),
        from_email=account.from_email,
        from_name=account.from_name,
        to=delivery.email,
        reply_to=account.reply_to,
        message_id=message_id,
        extra_headers=[
            ("List-Unsubscribe", f"<{links.unsubscribe_url(token)}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ],
    )
    return OutgoingMessage.from_rendered(rendered)


@dataclass
class Share:
    """One account's part of a batch: its reservation, what is left to send, what happened."""

    account: SendingAccount
    reservation: quota.Reservation
    unsent: list[Delivery]
    outcomes: list[Outcome] = field(default_factory=list)
    unspent: int = 0  # reserved room not used: given back after the share


@dataclass
class Plan:
    shares: list[Share]
    waiting: list[Delivery]  # no account had room for these


class AccountRotation:
    """The campaign's accounts; one open connection per account per batch."""

    def __init__(self, accounts: Iterable[SendingAccount]) -> None:
        self.accounts = [a for a in accounts if a.status == AccountStatus.ACTIVE]
        self.transports: dict[int, Transport] = {}
        self.faults: dict[int, SendResult] = {}

    def allocate(self, deliveries: list[Delivery], now: datetime) -> tuple[Plan, quota.NoRoom]:
        """Share the batch out: first an even share per account, then what is left to any
        account that still has room; each share is one reservation, taken at once.

        Returns the plan and, for the deliveries no account could take, when room comes.
        """
        left = list(deliveries)
        shares: list[Share] = []
        waits: list[quota.NoRoom] = []
        even = -(-len(left) // max(len(self.accounts), 1))  # ceiling division
        for want in (even, len(left)):
            for account in self.accounts:
                if not left:
                    break
                taken = quota.reserve_many(account, now, min(want, len(left)))
                if isinstance(taken, quota.NoRoom):
                    waits.append(taken)
                    continue
                shares.append(Share(account, taken, left[: taken.count]))
                left = left[taken.count :]
        timed = [w.until for w in waits if w.until is not None]
        reason = "; ".join(dict.fromkeys(w.reason for w in waits))
        no_room = quota.NoRoom(
            min(timed, default=None), reason or "The campaign has no active sending account."
        )
        return Plan(shares, left), no_room

    def usable(self, account: SendingAccount) -> bool:
        return account.pk not in self.faults

    def fault(self, account: SendingAccount) -> SendResult | None:
        return self.faults.get(account.pk)

    def send(self, account: SendingAccount, message: OutgoingMessage) -> SendResult:
        transport = self.transports.get(account.pk)
        if transport is None:
            transport = self.transports[account.pk] = transport_for(account)
        result = transport.send(message)
        if result.account_fault:
            # The rest of this account's share waits; its connection is of no more use.
            self.faults[account.pk] = result
            transport.close()
            del self.transports[account.pk]
        return result

    def close(self) -> None:
        for transport in self.transports.values():
            try:
                transport.close()
            except Exception:  # closing must never lose the batch's outcomes
                log.exception("closing a transport failed")
        self.transports.clear()
