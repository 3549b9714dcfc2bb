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
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeAlias, TypeVar

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from audience.models import STANDARD_FIELDS, Recipient, Suppression
from audience.selectors import custom_fields, recipient_values
from campaigns import links, metrics
from campaigns.engine import outcome as rules
from campaigns.engine.claim import Claimed
from campaigns.engine.outcome import Outcome
from campaigns.engine.retry import RetryPolicy
from campaigns.frozen_files import frozen_attachments
from campaigns.models import (
    AbTest,
    AbTestKind,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Variant,
)
from content.message import Attachment
from content.rendering import CompiledTemplate, RenderError, TemplateParts, compile_template
from content.selectors import template_attachments
from content.syntax import ContentError
from sending import quota
from sending.models import AccountKind, AccountStatus, SendingAccount
from sending.transports.base import OutgoingMessage, SendKind, SendResult, Transport
from sending.transports.factory import engine_transport_for

log = logging.getLogger(__name__)

# Compiled templates a worker keeps between batches (one per recently sent campaign).
PREPARED_KEEP = 32
# How long a worker keeps using one connection before it opens a new one.
POOL_MAX_AGE = 60.0

# Accounts that may send from a lane's own thread: every kind that sends over a network.
# Capture does not: its "sending" is a database write of the coordinating thread's, never
# slow the way a server is. An OAuth2 lane's token refresh uses the lane's own database
# connection (see `Lane`).
LANE_KINDS = frozenset(AccountKind) - {AccountKind.CAPTURE}

K = TypeVar("K")


@dataclass
class Prepared:
    """A campaign's state that does not change between batches."""

    template: CompiledTemplate
    field_keys: list[str]
    # A/B test variants by id: the template and From name their deliveries carry.
    variants: dict[int, VariantContent] = field(default_factory=dict)

    def for_delivery(self, delivery: Claimed) -> VariantContent:
        if delivery.variant_id is not None and delivery.variant_id in self.variants:
            return self.variants[delivery.variant_id]
        return VariantContent(self.template, "")


@dataclass(frozen=True)
class VariantContent:
    template: CompiledTemplate
    from_name: str  # "": the account's


def compile_variants(
    campaign: Campaign, parts: TemplateParts, template: CompiledTemplate
) -> dict[int, VariantContent]:
    """Each A/B test variant's content: a subject variant compiles the frozen content under
    its own subject; a whole-content variant compiles its own frozen content (variant A's is
    the campaign's); a From name variant keeps the campaign's template.

    Raises ContentError when a variant's frozen content is missing or cannot be compiled."""
    test = AbTest.objects.filter(campaign_id=campaign.pk).first()
    if test is None:
        return {}
    variants: dict[int, VariantContent] = {}
    for variant in Variant.objects.filter(campaign_id=campaign.pk):
        if test.kind == AbTestKind.SUBJECT:
            subject = compile_template(replace(parts, subject=variant.value))
            variants[variant.pk] = VariantContent(subject, "")
        elif test.kind == AbTestKind.CONTENT and variant.position > 0:
            if str(variant.pk) not in (campaign.content.get("variants") or {}):
                raise ContentError(f"The content of variant {variant.label} was not frozen.")
            own = compile_template(frozen_parts(campaign, variant_id=variant.pk))
            variants[variant.pk] = VariantContent(own, "")
        elif test.kind == AbTestKind.CONTENT:
            variants[variant.pk] = VariantContent(template, "")
        else:
            variants[variant.pk] = VariantContent(template, variant.value)
    return variants


def frozen_parts(
    campaign: Campaign, *, with_attachments: bool = True, variant_id: int | None = None
) -> TemplateParts:
    """The content frozen at the start, with the files copied then; with `variant_id`, that
    A/B test variant's own content where it has one (a whole-content variant other than A),
    the campaign's otherwise.

    Campaigns started before files were frozen read the template's files as they are now.
    Raises ContentError when a file cannot be read.
    """
    content = campaign.content
    if variant_id is not None:
        content = (content.get("variants") or {}).get(str(variant_id), content)
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
    stopped: Callable[[int], str | None] | None = None  # the current batch's (send_batch)
    # Room on the accounts is held in this name for this long (renewed with the lease), so
    # that it is given back if the worker dies before it settles; "" holds nothing.
    holder: str = ""
    hold_for: timedelta = timedelta(minutes=2)
    lanes: dict[int, Lane] = field(default_factory=dict)  # running, by account
    events: queue.SimpleQueue[Event] = field(default_factory=queue.SimpleQueue)

    def prepare(self, campaign: Campaign) -> Prepared:
        if campaign.pk not in self.prepared:
            if len(self.prepared) >= PREPARED_KEEP:  # a worker lives long: forget the oldest
                del self.prepared[next(iter(self.prepared))]
            keys = list(custom_fields(campaign.workspace).values_list("key", flat=True))
            parts = frozen_parts(campaign)
            template = compile_template(parts)
            variants = compile_variants(campaign, parts, template)
            self.prepared[campaign.pk] = Prepared(template, keys, variants)
        return self.prepared[campaign.pk]

    def send_batch(
        self,
        deliveries: list[Claimed],
        now: datetime,
        record: Callable[[Outcome], None],
        stopped: Callable[[int], str | None] | None = None,
    ) -> None:
        """Send a claimed batch; every delivery's outcome goes to `record`, once.

        `stopped(campaign_id)`: the status a campaign was stopped in by the recording itself
        (a pause on policy refusals), asked before each message so that the batch stops at
        once; other stops are seen by re-reading the campaign (StatusWatch).
        """
        self.start(deliveries, now, record, stopped)
        while self.lanes:
            self.serve()

    def start(
        self,
        deliveries: list[Claimed],
        now: datetime,
        record: Callable[[Outcome], None],
        stopped: Callable[[int], str | None] | None = None,
    ) -> None:
        """Begin sending a claimed batch (see `send_batch`); `serve` carries it on.

        Accounts whose lane is still running are left out of it (their connections are in
        use). With no lane running and one account to serve, the batch is sent here and now;
        otherwise each account's part goes to a lane (thread) of its own, so that a slow or
        dead server (SMTP, XOAUTH2 or an e-mail service's API) holds up only its own account.
        """
        try:
            self.stopped = stopped
            by_campaign: dict[int, list[Claimed]] = {}
            for delivery in deliveries:
                by_campaign.setdefault(delivery.campaign_id, []).append(delivery)
            campaigns = Campaign.objects.select_related("workspace").in_bulk(list(by_campaign))
            jobs: list[Job] = []
            for campaign_id, items in by_campaign.items():
                jobs += self._plan(campaigns[campaign_id], items, now, record)
            by_account: dict[int, list[Job]] = {}
            for job in jobs:
                by_account.setdefault(job.share.account.pk, []).append(job)
            if not self.lanes and len(by_account) <= 1:
                for job in jobs:
                    self._run_here(job)
                return
            for account_id, account_jobs in by_account.items():
                if account_jobs[0].share.account.kind not in LANE_KINDS:
                    # Captured messages are stored by the thread that records the outcomes.
                    for job in account_jobs:
                        self._run_here(job)
                    continue
                for job in account_jobs:
                    job.transport = self.pool.get(job.share.account)  # DKIM keys: a query
                    job.stopped = job.watch.stopped_as() is not None
                lane = Lane(
                    account_id,
                    account_jobs,
                    self.events,
                    self._share_outcomes,
                    budget=settings.DELIVERY_LANE_SECONDS,
                )
                self.lanes[account_id] = lane
                lane.start()
        except BaseException:
            # Whatever failed (the database, rendering, a bug), no connection's SMTP state can
            # be vouched for any more: none is kept for the next batch.
            self.close()
            raise

    def serve(self, timeout: float | None = None) -> bool:
        """Record the lanes' outcomes as they come, until a lane ends (True) or `timeout`
        passes (False). Each lane waits for its outcome to be recorded before it goes on,
        so that a stop decided by the recording (a pause) acts at its next message."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while self.lanes:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    lane, job, item = self.events.get(timeout=wait)
                except queue.Empty:
                    return False
                if item is _LANE_DONE:
                    self.lanes.pop(lane.account_id, None)
                    lane.join()
                    return True
                if isinstance(item, BaseException):
                    raise item
                assert job is not None  # noqa: S101 - every other event is a job's
                if isinstance(item, Outcome):
                    job.record(item)
                else:
                    self._finish(job)
                job.stopped = job.watch.stopped_as() is not None
                lane.answers.put(_GO)
            return True
        except BaseException:
            self.close()
            raise

    def busy_accounts(self) -> set[int]:
        """The accounts whose lane is still running."""
        return set(self.lanes)

    def close(self) -> None:
        """Stop the lanes (each at its next outcome, dropping its connection whatever its
        state) and wait for them; close every kept connection."""
        lanes = list(self.lanes.values())
        self.lanes.clear()
        for lane in lanes:
            lane.answers.put(_ABORT)
        for lane in lanes:
            lane.join()
        if lanes:
            self.events = queue.SimpleQueue()  # what the stopped lanes said is void
        self.pool.close()

    def _plan(
        self,
        campaign: Campaign,
        items: list[Claimed],
        now: datetime,
        record: Callable[[Outcome], None],
    ) -> list[Job]:
        """Record what needs no sending (expired, suppressed, waiting for room) and share
        the rest out between the campaign's accounts that have no lane running."""
        outcomes, live = _expire_or_suppress(campaign, items, now)
        try:
            prepared = self.prepare(campaign) if live else None
        except ContentError as exc:  # the frozen content cannot be compiled: nothing can go out
            outcomes += [_final(d, DeliveryStatus.OTHER_ERROR, str(exc)) for d in live]
            prepared, live = None, []
        for outcome in outcomes:
            record(outcome)
        if prepared is None:
            return []
        accounts = list(campaign.accounts.all())
        rotation = AccountRotation([a for a in accounts if a.pk not in self.lanes], self.pool)
        plan, no_room = rotation.allocate(live, now, self.holder, now + self.hold_for)
        # An account of the campaign is busy with an earlier batch: what the others could not
        # take waits for it a moment, not for a backoff.
        held_up = any(a.pk in self.lanes and a.status == AccountStatus.ACTIVE for a in accounts)
        for delivery in plan.waiting:
            record(_held_up(delivery, now) if held_up else _waiting(delivery, no_room, now))
        if plan.waiting and not held_up:
            metrics.quota_waited(no_room.kind, len(plan.waiting))
        watch = StatusWatch(campaign, self.stopped)
        links_of = links.DeliveryLinks(mailbox=links.has_feedback_mailbox(campaign.workspace_id))
        return [
            Job(campaign, prepared, rotation, share, watch, links_of, now, record)
            for share in plan.shares
        ]

    def _run_here(self, job: Job) -> None:
        """Send a job in this thread, recording each outcome as it comes."""

        def stop() -> bool:
            return job.watch.stopped_as() is not None

        job.transport = self.pool.get(job.share.account)
        # Closed on the way out, whatever the way: a connection left mid-transaction by an
        # exception here (in `record`, say) is dropped at once.
        with closing(self._share_outcomes(job, stop)) as outcomes:
            for outcome in outcomes:
                job.record(outcome)
        self._finish(job)

    def _finish(self, job: Job) -> None:
        """Whatever the share did not send goes back: to the queue and to the quota."""
        share = job.share
        stopped = job.watch.stopped
        now = timezone.now()
        for delivery in share.unsent:
            if job.out_of_time and not stopped:
                job.record(_held_up(delivery, now))  # untried: back after a moment
            else:
                job.record(_released(delivery, stopped or "", job.now))
        quota.release(share.reservation, share.unspent + len(share.unsent))

    def _share_outcomes(self, job: Job, stop: Callable[[], bool]) -> Generator[Outcome, None, None]:
        """Send one account's part of the batch over its connection, several messages in
        flight, and give each delivery's outcome; what was not tried stays in `share.unsent`.

        Runs in a lane's thread or in the caller's: it records nothing (`stop` and the
        consumer of the outcomes do); only an OAuth2 transport stores a refreshed token.
        """
        if stop():
            return
        campaign, share, rotation = job.campaign, job.share, job.rotation
        account = share.account
        untried: list[Claimed] = []
        failed: list[Outcome] = []  # could not be rendered: given with the next result

        def messages() -> Iterator[tuple[tuple[Claimed, str], OutgoingMessage]]:
            while share.unsent:
                delivery = share.unsent.pop(0)
                # Tried before: the same Message-ID (the account is of the same domain).
                message_id = delivery.message_id or links.message_id_for(
                    delivery.pk, campaign.pk, account.from_domain
                )
                try:
                    message = _render(job.prepared, account, delivery, message_id, job.links_of)
                except RenderError as exc:
                    share.unspent += 1
                    failed.append(_final(delivery, DeliveryStatus.OTHER_ERROR, str(exc)))
                    continue
                yield (delivery, message_id), message

        transport = job.transport
        assert transport is not None  # noqa: S101 - given by whoever runs the job
        with closing(transport.send_all(messages(), stop)) as results:
            for (delivery, message_id), result in results:
                while failed:
                    yield failed.pop(0)
                if result is None:  # taken but not tried: it goes back with the rest
                    untried.append(delivery)
                    continue
                rotation.note(account, result)
                if not result.ok and result.kind != SendKind.AMBIGUOUS:
                    share.unspent += 1
                yield self._outcome(campaign, delivery, account, message_id, result, job.now)
        while failed:
            yield failed.pop(0)
        share.unsent[:0] = untried
        if not rotation.usable(account):  # refused or unreachable: the rest waits
            _close(transport)  # its connections are of no more use
            for delivery in share.unsent:
                yield _account_down(delivery, account, rotation.fault(account), job.now)
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
        tried = rules.Tried(
            delivery.pk, delivery.attempts, campaign.max_attempts, account.pk, message_id
        )
        return rules.after_send(tried, result, self.policy, now)


@dataclass
class Job:
    """One account's share of one campaign's part of a batch."""

    campaign: Campaign
    prepared: Prepared
    rotation: AccountRotation
    share: Share
    watch: StatusWatch
    links_of: links.DeliveryLinks
    now: datetime
    record: Callable[[Outcome], None]
    transport: Transport | None = None  # the account's, from the pool, when it starts
    stopped: bool = False  # the campaign stopped, as the coordinating thread last saw it
    out_of_time: bool = False  # its lane's time ran out: what it did not start waits a moment


class _Signal:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_GO = _Signal("go")  # the lane's outcome is recorded: it goes on
_ABORT = _Signal("abort")  # the lane stops at once, dropping its connection
_JOB_DONE = _Signal("job done")  # the lane finished a job: what it did not send goes back
_LANE_DONE = _Signal("lane done")  # the lane's thread ends (always its last event)
# What a lane tells the coordinating thread: an outcome, a signal, or what it raised.
Event: TypeAlias = "tuple[Lane, Job | None, Outcome | _Signal | BaseException]"


class Lane(threading.Thread):
    """One account's jobs, sent in order from a thread of their own, so that a slow or dead
    server holds up only its own account while the others' lanes go on.

    A lane records nothing: it hands each outcome to the coordinating thread, which records
    it and answers before the lane goes on, so that every outcome is recorded in the order of
    one thread and a stop decided by the recording (a pause) is seen at the lane's next
    message. Told to abort, the lane closes its generator there, which drops its connection
    whatever its SMTP state. Its only database use is an OAuth2 account's token refresh:
    Django gives the thread a connection of its own, the new token is stored in its own
    short transaction (autocommit, never inside the coordinating thread's), and the
    connection is closed when the lane ends.
    """

    def __init__(
        self,
        account_id: int,
        jobs: list[Job],
        events: queue.SimpleQueue[Event],
        steps: Callable[[Job, Callable[[], bool]], Generator[Outcome, None, None]],
        *,
        budget: float,
    ) -> None:
        super().__init__(name=f"postroom-account-{account_id}", daemon=True)
        self.budget = budget
        self.account_id = account_id
        self.jobs = jobs
        self.events = events
        self.answers: queue.SimpleQueue[_Signal] = queue.SimpleQueue()
        self.steps = steps

    def run(self) -> None:
        # A lane sends for `budget` seconds at most; what it has not started by then goes
        # back to the queue untried (no attempt spent), so that a server that is slow with
        # every message holds the step, and through it the other accounts, no longer.
        deadline = time.monotonic() + self.budget
        try:
            for job in self.jobs:
                with closing(self.steps(job, _stop_of(job, deadline))) as outcomes:
                    for outcome in outcomes:
                        if not self._hand_over(job, outcome):
                            return  # leaving the `with` drops the connection
                if not self._hand_over(job, _JOB_DONE):
                    return
        except BaseException as exc:  # the coordinating thread raises it
            self.events.put((self, None, exc))
        finally:
            connections.close_all()  # this thread's own, if a token refresh opened one
            self.events.put((self, None, _LANE_DONE))

    def _hand_over(self, job: Job, item: Outcome | _Signal) -> bool:
        self.events.put((self, job, item))
        return self.answers.get() is not _ABORT


def _stop_of(job: Job, deadline: float) -> Callable[[], bool]:
    def stop() -> bool:
        if job.stopped:
            return True
        if time.monotonic() > deadline:
            job.out_of_time = True  # read by the coordinating thread after the job's end
            return True
        return False

    return stop


def message_id_domain(message_id: str) -> str:
    """The domain of a Message-ID the engine made (`links.message_id_for`)."""
    return message_id.rpartition("@")[2].rstrip(">").lower()


def account_domain(account: SendingAccount) -> str:
    """The domain of the Message-IDs the engine makes for `account`'s messages."""
    return message_id_domain(links.message_id_for(0, 0, account.from_domain))


def _final(delivery: Claimed, status: str, reply: str) -> Outcome:
    return rules.final(delivery.pk, status, reply)


def _waiting(delivery: Claimed, no_room: quota.NoRoom | None, now: datetime) -> Outcome:
    until = no_room.until if no_room is not None else None
    reason = no_room.reason if no_room is not None else "no room"
    return rules.waiting(delivery.pk, until, reason, now)


def _held_up(delivery: Claimed, now: datetime) -> Outcome:
    return rules.held_up(delivery.pk, now)


def _account_down(
    delivery: Claimed, account: SendingAccount, fault: SendResult | None, now: datetime
) -> Outcome:
    """See `rules.account_down`: the Message-ID it has, or would have from this account."""
    message_id = delivery.message_id or links.message_id_for(
        delivery.pk, delivery.campaign_id, account.from_domain
    )
    return rules.account_down(delivery.pk, fault, now, account_id=account.pk, message_id=message_id)


def _released(delivery: Claimed, campaign_status: str, now: datetime) -> Outcome:
    return rules.released(delivery.pk, campaign_status, now)


class StatusWatch:
    """Re-reads a campaign's status at most every DELIVERY_STATUS_CHECK_SECONDS (so that pause
    and cancel act within a batch); remembers a stop."""

    def __init__(self, campaign: Campaign, told: Callable[[int], str | None] | None = None) -> None:
        self.campaign_id = campaign.pk
        self.told = told  # a stop this worker decided itself, known without a query
        self.interval: float = settings.DELIVERY_STATUS_CHECK_SECONDS
        self.checked = time.monotonic()
        self.stopped: str | None = None  # the status the campaign stopped in, once seen

    def stopped_as(self) -> str | None:
        """The campaign's status if it is no longer running, else None."""
        if self.stopped is None and self.told is not None:
            self.stopped = self.told(self.campaign_id)
        if self.stopped is not None or time.monotonic() - self.checked < self.interval:
            return self.stopped
        self.checked = time.monotonic()
        status, disabled_at = Campaign.objects.values_list("status", "disabled_at").get(
            pk=self.campaign_id
        )
        if disabled_at is not None and status == CampaignStatus.RUNNING:
            status = CampaignStatus.PAUSED  # a manager disabled it: its deliveries wait
        self.stopped = None if status == CampaignStatus.RUNNING else status
        return self.stopped


def _expire_or_suppress(
    campaign: Campaign, items: list[Claimed], now: datetime
) -> tuple[list[Outcome], list[Claimed]]:
    """Deliveries past the campaign's lifetime end; suppressed addresses, and recipients
    deleted since they were queued (their row is gone: no e-mail in the claim's join), are
    not sent to."""
    outcomes: list[Outcome] = []
    live: list[Claimed] = []
    expired = rules.past_lifetime(campaign.launched_at, campaign.lifetime_seconds, now)
    made = _made_at(items) if campaign.sequence_step else {}
    suppressed = _suppressed(campaign.workspace_id, [d.email for d in items])
    for delivery in items:
        if delivery.pk in made:  # a sequence's step: its lifetime counts from its making
            expired = rules.past_lifetime(made[delivery.pk], campaign.lifetime_seconds, now)
        if delivery.standard[0] is None:
            outcomes.append(rules.recipient_gone(delivery.pk))
        elif delivery.email in suppressed:
            outcomes.append(rules.suppressed(delivery.pk))
        elif expired:
            outcomes.append(
                rules.expired(
                    delivery.pk,
                    attempts=delivery.attempts,
                    last_code=delivery.last_code,
                    last_reply=delivery.last_reply,
                )
            )
        else:
            live.append(delivery)
    return outcomes, live


def _made_at(items: list[Claimed]) -> dict[int, datetime | None]:
    """When each delivery was made, for a campaign whose deliveries come after its launch."""
    rows = Delivery.objects.filter(pk__in=[d.pk for d in items]).values_list("pk", "created_at")
    return dict(rows)


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


def delivery_values(
    delivery: Delivery, token: str, field_keys: list[str] | None = None
) -> dict[str, str]:
    """What a delivery's placeholders are filled with: its recipient's fields and its links."""
    try:
        person = delivery.recipient
    except Recipient.DoesNotExist:  # deleted while its launch ran (no database constraint)
        person = None
    values = recipient_values(person, field_keys) if person is not None else {}
    return {**values, "email": delivery.email, **links.DeliveryLinks().values(token)}


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
    values.update(links_of.values(token))
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
    return_path = links.return_path_for(account.return_path_domain, delivery.pk)
    content = prepared.for_delivery(delivery)
    rendered = content.template.render(
        values,
        from_email=account.from_email,
        from_name=content.from_name or account.from_name,
        to=delivery.email,
        reply_to=account.reply_to,
        message_id=message_id,
        extra_headers=[
            (
                "List-Unsubscribe",
                links_of.unsubscribe_header(values["unsubscribe_url"], return_path),
            ),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ],
    )
    return OutgoingMessage.from_rendered(rendered, envelope_from=return_path)


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

    def allocate(
        self,
        deliveries: list[Claimed],
        now: datetime,
        holder: str = "",
        until: datetime | None = None,
    ) -> tuple[Plan, quota.NoRoom]:
        """Share the batch out: first an even share per account, then what is left to any
        account that still has room; each share is one reservation, taken at once (held by
        `holder` until `until`, when given: see `quota.reserve_held`).

        A delivery already tried keeps its From domain (and so its Message-ID): it goes only
        to accounts of that domain, and waits when none is active or has room.

        Returns the plan and, for the deliveries no account could take, when room comes.
        """
        untried: list[Claimed] = []
        tried: dict[str, list[Claimed]] = {}
        for delivery in deliveries:
            if delivery.message_id:
                tried.setdefault(message_id_domain(delivery.message_id), []).append(delivery)
            else:
                untried.append(delivery)
        shares, waiting, waits = self._share_out(untried, self.accounts, now, holder, until)
        for domain, items in tried.items():
            accounts = [a for a in self.accounts if account_domain(a) == domain]
            more, left, more_waits = self._share_out(items, accounts, now, holder, until)
            shares += more
            waiting += left
            waits += more_waits or [
                quota.NoRoom(None, f"no active account sends from {domain}", "no_account")
            ]
        timed = [w for w in waits if w.until is not None]
        # Counted as the wait that ends first; with none timed, the first reason given.
        first = min(timed, key=lambda w: w.until or now) if timed else None
        kind = (first or waits[0]).kind if waits else "no_account"
        reason = "; ".join(dict.fromkeys(w.reason for w in waits))
        no_room = quota.NoRoom(
            first.until if first is not None else None,
            reason or "The campaign has no active sending account.",
            kind,
        )
        return Plan(shares, waiting), no_room

    @staticmethod
    def _share_out(
        deliveries: list[Claimed],
        accounts: list[SendingAccount],
        now: datetime,
        holder: str,
        until: datetime | None,
    ) -> tuple[list[Share], list[Claimed], list[quota.NoRoom]]:
        left = list(deliveries)
        shares: list[Share] = []
        waits: list[quota.NoRoom] = []
        even = -(-len(left) // max(len(accounts), 1))  # ceiling division
        for want in (even, len(left)):
            for account in accounts:
                if not left:
                    break
                count = min(want, len(left))
                if holder and until is not None:
                    ids = [d.pk for d in left[:count]]
                    taken = quota.reserve_held(account, now, ids, holder=holder, until=until)
                else:
                    taken = quota.reserve_many(account, now, count)
                if isinstance(taken, quota.NoRoom):
                    waits.append(taken)
                    continue
                shares.append(Share(account, taken, left[: taken.count]))
                left = left[taken.count :]
        return shares, left, waits

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
