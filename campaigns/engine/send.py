"""Send: render and send a claimed batch, and say what happened to each delivery.

Per batch: the campaign's template is compiled once (and kept for the next batches), the
suppression list is checked again for the batch's addresses (an unsubscribe stops a running
campaign), each delivery takes room on one of the campaign's accounts (rotating across them),
and messages go out over the account's connection, kept open between batches and pipelined
(the next message's envelope travels with the current one's body). Nothing is written here:
each outcome goes to the caller's `record` as soon as it is known (`record.Recorder` writes
them in chunks, so that a crash leaves few messages sent but not recorded).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import connection

from audience.models import STANDARD_FIELDS, Suppression
from audience.selectors import custom_fields, recipient_values
from campaigns import links
from campaigns.engine.claim import Claimed
from campaigns.engine.retry import RetryPolicy
from campaigns.frozen_files import frozen_attachments
from campaigns.models import AttemptOutcome, Campaign, CampaignStatus, Delivery, DeliveryStatus
from content.message import Attachment
from content.rendering import CompiledTemplate, RenderError, TemplateParts, compile_template
from content.selectors import template_attachments
from content.syntax import ContentError
from sending import quota
from sending.models import AccountStatus, SendingAccount
from sending.transports.base import OutgoingMessage, SendKind, SendResult, Transport
from sending.transports.factory import engine_transport_for
from sending.transports.smtp_wire import ConnectionGroup, WireSmtpTransport

log = logging.getLogger(__name__)

# How long a delivery waits when its account's server could not be reached.
ACCOUNT_BACKOFF = timedelta(seconds=60)
# Compiled templates a worker keeps between batches (one per recently sent campaign).
PREPARED_KEEP = 32
# How often a batch looks at its campaign's status, so that pause and cancel act within it.
STATUS_CHECK_SECONDS = 0.5
# How long a worker keeps using one connection before it opens a new one.
POOL_MAX_AGE = 60.0

K = TypeVar("K")


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
    """The content frozen at the start, with the files copied then.

    Campaigns started before files were frozen read the template's files as they are now.
    Raises ContentError when a file cannot be read.
    """
    content = campaign.content
    template_id = content.get("template_id")
    files: tuple[Attachment, ...] = ()
    if with_attachments and "attachments" in content:
        files = frozen_attachments(content["attachments"])
    elif with_attachments and template_id is not None:
        files = template_attachments(campaign.workspace, int(template_id))
    return TemplateParts(
        subject=content.get("subject", ""),
        html=content.get("html", ""),
        text=content.get("text", ""),
        text_from_html=bool(content.get("text_from_html", False)),
        attachments=files,
    )


@dataclass
class Sender:
    """Sends batches for one worker; keeps compiled templates and open connections between
    batches."""

    policy: RetryPolicy
    prepared: dict[int, Prepared] = field(default_factory=dict)
    pool: ConnectionPool = field(default_factory=lambda: ConnectionPool())

    def prepare(self, campaign: Campaign) -> Prepared:
        if campaign.pk not in self.prepared:
            if len(self.prepared) >= PREPARED_KEEP:  # a worker lives long: forget the oldest
                del self.prepared[next(iter(self.prepared))]
            keys = list(custom_fields(campaign.workspace).values_list("key", flat=True))
            self.prepared[campaign.pk] = Prepared(compile_template(frozen_parts(campaign)), keys)
        return self.prepared[campaign.pk]

    def send_batch(
        self, deliveries: list[Claimed], now: datetime, record: Callable[[Outcome], None]
    ) -> None:
        """Send a claimed batch; every delivery's outcome goes to `record`, once."""
        by_campaign: dict[int, list[Claimed]] = {}
        for delivery in deliveries:
            by_campaign.setdefault(delivery.campaign_id, []).append(delivery)
        campaigns = Campaign.objects.select_related("workspace").in_bulk(list(by_campaign))
        for campaign_id, items in by_campaign.items():
            self._send_campaign(campaigns[campaign_id], items, now, record)

    def close(self) -> None:
        self.pool.close()

    def _send_campaign(
        self,
        campaign: Campaign,
        items: list[Claimed],
        now: datetime,
        record: Callable[[Outcome], None],
    ) -> None:
        outcomes, live = _expire_or_suppress(campaign, items, now)
        try:
            prepared = self.prepare(campaign) if live else None
        except ContentError as exc:  # the frozen content cannot be compiled: nothing can go out
            outcomes += [_final(d, DeliveryStatus.OTHER_ERROR, str(exc)) for d in live]
            prepared, live = None, []
        for outcome in outcomes:
            record(outcome)
        if prepared is None:
            return
        rotation = AccountRotation(list(campaign.accounts.all()), self.pool)
        plan, no_room = rotation.allocate(live, now)
        for delivery in plan.waiting:
            record(_waiting(delivery, no_room, now))
        watch = StatusWatch(campaign)
        links_of = links.DeliveryLinks()
        for share in plan.shares:
            if watch.stopped is None:
                self._send_share(campaign, prepared, rotation, share, watch, links_of, now, record)
            # Whatever the share did not send goes back: to the queue and to the quota.
            for delivery in share.unsent:
                record(_released(delivery, watch.stopped or "", now))
            quota.release(share.reservation, share.unspent + len(share.unsent))

    def _send_share(
        self,
        campaign: Campaign,
        prepared: Prepared,
        rotation: AccountRotation,
        share: Share,
        watch: StatusWatch,
        links_of: links.DeliveryLinks,
        now: datetime,
        record: Callable[[Outcome], None],
    ) -> None:
        """Send one account's part of the batch over its connection, several messages in
        flight; what was not tried stays in `share.unsent`."""
        account = share.account
        untried: list[Claimed] = []

        def messages() -> Iterator[tuple[tuple[Claimed, str], OutgoingMessage]]:
            while share.unsent:
                delivery = share.unsent.pop(0)
                message_id = links.message_id_for(delivery.pk, campaign.pk, account.from_domain)
                try:
                    message = _render(prepared, account, delivery, message_id, links_of)
                except RenderError as exc:
                    share.unspent += 1
                    record(_final(delivery, DeliveryStatus.OTHER_ERROR, str(exc)))
                    continue
                yield (delivery, message_id), message

        def stop() -> bool:
            return watch.stopped_as() is not None

        transport = rotation.transport(account)
        for (delivery, message_id), result in _send_all(transport, messages(), stop):
            if result is None:  # taken but not tried: it goes back with the rest
                untried.append(delivery)
                continue
            rotation.note(account, result)
            if not result.ok and result.kind != SendKind.AMBIGUOUS:
                share.unspent += 1
            record(self._outcome(campaign, delivery, account, message_id, result, now))
        share.unsent[:0] = untried
        if not rotation.usable(account):  # refused or unreachable: the rest waits
            self.pool.discard(account)  # its connections are of no more use
            for delivery in share.unsent:
                record(_account_down(delivery, rotation.fault(account), now))
            share.unspent += len(share.unsent)
            share.unsent = []

    def _outcome(
        self,
        campaign: Campaign,
        delivery: Claimed,
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


def _send_all(
    transport: Transport,
    source: Iterator[tuple[K, OutgoingMessage]],
    stop: Callable[[], bool],
) -> Iterator[tuple[K, SendResult | None]]:
    """Pipelined over the engine's SMTP client; one at a time over the other transports."""
    if isinstance(transport, ConnectionGroup | WireSmtpTransport):
        yield from transport.send_all(source, stop)
        return
    while not stop():
        item = next(source, None)
        if item is None:
            return
        result = transport.send(item[1])
        yield item[0], result
        if result.account_fault:
            return


def _final(delivery: Claimed, status: str, reply: str) -> Outcome:
    return Outcome(delivery.pk, status, reply=reply)


def _waiting(delivery: Claimed, no_room: quota.NoRoom | None, now: datetime) -> Outcome:
    """No account has room for it now: it waits, without spending an attempt."""
    until = no_room.until if no_room is not None else None
    reason = no_room.reason if no_room is not None else "no room"
    return Outcome(
        delivery.pk, DeliveryStatus.DEFERRED, next_attempt_at=until or now + ACCOUNT_BACKOFF,
        reply=reason,
    )  # fmt: skip


def _account_down(delivery: Claimed, fault: SendResult | None, now: datetime) -> Outcome:
    """Its account failed on an earlier message of the batch: it waits without an attempt
    (at once for another account after a refused password, after a pause otherwise)."""
    auth = fault is not None and fault.kind == SendKind.AUTH
    return Outcome(
        delivery.pk,
        DeliveryStatus.DEFERRED,
        next_attempt_at=now if auth else now + ACCOUNT_BACKOFF,
        reply=fault.reply if fault is not None else "the account failed",
    )


def _released(delivery: Claimed, campaign_status: str, now: datetime) -> Outcome:
    """Not tried because the campaign stopped: back in the queue, or cancelled with it."""
    if campaign_status == CampaignStatus.CANCELLED:
        return Outcome(delivery.pk, DeliveryStatus.CANCELLED)
    return Outcome(delivery.pk, DeliveryStatus.QUEUED, next_attempt_at=now)


class StatusWatch:
    """Re-reads a campaign's status at most every STATUS_CHECK_SECONDS; remembers a stop."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign_id = campaign.pk
        self.checked = time.monotonic()
        self.stopped: str | None = None  # the status the campaign stopped in, once seen

    def stopped_as(self) -> str | None:
        """The campaign's status if it is no longer running, else None."""
        if self.stopped is not None or time.monotonic() - self.checked < STATUS_CHECK_SECONDS:
            return self.stopped
        self.checked = time.monotonic()
        status = Campaign.objects.values_list("status", flat=True).get(pk=self.campaign_id)
        self.stopped = None if status == CampaignStatus.RUNNING else status
        return self.stopped


def _expire_or_suppress(
    campaign: Campaign, items: list[Claimed], now: datetime
) -> tuple[list[Outcome], list[Claimed]]:
    """Deliveries past the campaign's lifetime end; suppressed addresses are not sent to."""
    outcomes: list[Outcome] = []
    live: list[Claimed] = []
    started = campaign.launched_at or now
    expired = now - started > timedelta(seconds=campaign.lifetime_seconds)
    suppressed = _suppressed(campaign.workspace_id, [d.email for d in items])
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


def _suppressed(workspace_id: int, emails: list[str]) -> set[str]:
    """Which of `emails` the workspace suppresses. On PostgreSQL with one array parameter:
    a statement of a fixed, short text instead of one placeholder per address."""
    if connection.vendor != "postgresql":
        found = Suppression.objects.filter(workspace_id=workspace_id, email__in=emails)
        return set(found.values_list("email", flat=True))
    table = connection.ops.quote_name(Suppression._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT email FROM {table} WHERE workspace_id = %s "  # noqa: S608 - our name
            "AND email = ANY(%s::varchar[])",
            [workspace_id, emails],
        )
        return {row[0] for row in cursor}


def _unreachable(delivery: Claimed) -> bool:
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


def claimed_values(
    delivery: Claimed, token: str, field_keys: list[str], links_of: links.DeliveryLinks
) -> dict[str, str]:
    """`delivery_values` for a claimed row: the same values, without model instances."""
    values: dict[str, str] = {}
    if delivery.recipient_id is not None:
        values = {
            name: str(value or "")
            for name, value in zip(STANDARD_FIELDS, delivery.standard, strict=True)
        }
        stored = delivery.fields or {}
        for key in field_keys:
            value = stored.get(key)
            values[key] = "" if value is None else _as_text(value)
    values["email"] = delivery.email
    values["unsubscribe_url"] = links_of.unsubscribe_url(token)
    values["view_in_browser_url"] = links_of.view_url(token)
    return values


def _as_text(value: object) -> str:
    """A custom field's stored value as text (as `audience.selectors.recipient_values`)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _render(
    prepared: Prepared,
    account: SendingAccount,
    delivery: Claimed,
    message_id: str,
    links_of: links.DeliveryLinks,
) -> OutgoingMessage:
    token = links.token_for(delivery.pk)
    values = claimed_values(delivery, token, prepared.field_keys, links_of)
    rendered = prepared.template.render(
        values,
        from_email=account.from_email,
        from_name=account.from_name,
        to=delivery.email,
        reply_to=account.reply_to,
        message_id=message_id,
        extra_headers=[
            ("List-Unsubscribe", f"<{values['unsubscribe_url']}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ],
    )
    return OutgoingMessage.from_rendered(rendered)


@dataclass
class Share:
    """One account's part of a batch: its reservation and what is left to send."""

    account: SendingAccount
    reservation: quota.Reservation
    unsent: list[Claimed]
    unspent: int = 0  # reserved room not used: given back after the share


@dataclass
class Plan:
    shares: list[Share]
    waiting: list[Claimed]  # no account had room for these


class ConnectionPool:
    """Open transports per account, kept between batches so that a campaign does not pay a
    connection (greeting, TLS, AUTH) per batch. A transport is renewed when its account's
    settings change, and after POOL_MAX_AGE so that new DKIM keys and passwords are seen."""

    def __init__(self) -> None:
        self.open: dict[int, tuple[tuple[object, ...], float, Transport]] = {}

    def get(self, account: SendingAccount) -> Transport:
        key = _connection_settings(account)
        kept = self.open.get(account.pk)
        if kept is not None:
            if kept[0] == key and time.monotonic() - kept[1] < POOL_MAX_AGE:
                return kept[2]
            self.discard(account)
        transport = engine_transport_for(account)
        self.open[account.pk] = (key, time.monotonic(), transport)
        return transport

    def discard(self, account: SendingAccount) -> None:
        kept = self.open.pop(account.pk, None)
        if kept is not None:
            _close(kept[2])

    def close(self) -> None:
        for _, _, transport in self.open.values():
            _close(transport)
        self.open.clear()


def _connection_settings(account: SendingAccount) -> tuple[object, ...]:
    return (
        account.kind, account.smtp_host, account.smtp_port, account.smtp_security,
        account.smtp_username, account.smtp_password, account.from_email, account.status,
        account.oauth_access_token, account.esp_provider, account.esp_api_key,
    )  # fmt: skip


def _close(transport: Transport) -> None:
    try:
        transport.close()
    except Exception:  # closing must never lose the batch's outcomes
        log.exception("closing a transport failed")


class AccountRotation:
    """The campaign's accounts, their connections (from the worker's pool) and their faults."""

    def __init__(self, accounts: Iterable[SendingAccount], pool: ConnectionPool) -> None:
        self.accounts = [a for a in accounts if a.status == AccountStatus.ACTIVE]
        self.pool = pool
        self.faults: dict[int, SendResult] = {}

    def allocate(self, deliveries: list[Claimed], now: datetime) -> tuple[Plan, quota.NoRoom]:
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

    def transport(self, account: SendingAccount) -> Transport:
        return self.pool.get(account)

    def note(self, account: SendingAccount, result: SendResult) -> None:
        """Take in one message's result: an account fault ends the account's share."""
        if result.account_fault:
            self.faults.setdefault(account.pk, result)
