"""The engine's rules, in one place: what happens to a delivery, given what happened to it.

Pure: no database, no network, no clock of its own. Each function takes a result (a server's
reply as `sending.classify` read it, or a fact such as "the campaign's lifetime is over") and
the delivery's state, and gives the `Outcome` that the record step writes: the delivery's
new status, when it is tried next, whether an attempt is spent, and the side effects
(suppress the address, put the account in error). `send` only sends and `record` only writes;
the table in campaigns/tests/test_engine_outcome.py lists every rule of DESIGN.md.

The rules (DESIGN.md, "Rules the engine keeps"):
- sent (250 to its own end of DATA): `sent`.
- permanent (5xx): `failed`; an address error (5.1.x but 5.1.7/5.1.8, null MX) ends it
  `not_found` and suppresses the address; a policy refusal (5.7.x) fails it without
  suppressing and counts towards the campaign's pause (`past_threshold`).
- the provider's daily limit for the account (5.4.5, "sending quota exceeded"): `deferred`
  without an attempt; the account's day closes (nothing more through it until its next
  local day) and the delivery goes through another account or waits for that day.
- the account's fault (421, connection and TLS errors, timeouts; a service's 429 or 5xx):
  `deferred` without spending an attempt, due after ACCOUNT_BACKOFF, or after the service's
  Retry-After within RETRY_AFTER_MIN..RETRY_AFTER_MAX; refused credentials or a refused From
  address (auth): the account goes to `error` and the delivery is due at once (for another
  account of its domain).
- suppressed by the service (its own suppression list refused the address): `suppressed`,
  the address kept off the workspace's list (the service's reason is not known).
- temporary (4xx, 552 at RCPT) and ambiguous (no reply to the end of DATA; retried with the
  same Message-ID): `deferred`, an attempt spent, due after the retry policy's backoff; at
  the campaign's last attempt, `failed`.
- past the campaign's lifetime: `expired`, or `connection_error` when no server ever answered.
- suppressed at send time: `suppressed`, with an attempt row that says so.
- its recipient deleted or erased since it was queued: `cancelled`, without an attempt and
  without a message (the address stored on the delivery is no reason to write to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from campaigns.engine.retry import RetryPolicy
from campaigns.models import AttemptOutcome, CampaignStatus, DeliveryStatus
from sending.transports.base import SendKind, SendResult

# How long a delivery waits when its account's server could not be reached.
ACCOUNT_BACKOFF = timedelta(seconds=60)
# A service's Retry-After is honoured within these bounds: never sooner (a service answering
# "now" again and again must not make the engine spin on it), never later (one answer does
# not hold a campaign for hours: the account is asked again then, still without an attempt).
RETRY_AFTER_MIN = timedelta(seconds=5)
RETRY_AFTER_MAX = timedelta(hours=1)
# How long a delivery waits when an account of its campaign is busy with an earlier batch.
HELD_UP = timedelta(seconds=2)


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
    day_closed: bool = False  # the provider's daily limit for the account is used up


@dataclass(frozen=True)
class Tried:
    """What the rules need to know of a delivery that was just tried."""

    delivery_id: int
    attempts: int  # spent before this try
    max_attempts: int  # the campaign's
    account_id: int
    message_id: str


def after_send(tried: Tried, result: SendResult, policy: RetryPolicy, now: datetime) -> Outcome:
    """A server's answer (or silence) to one message."""
    outcome = Outcome(
        tried.delivery_id,
        DeliveryStatus.SENT,
        attempt=str(result.kind),
        spend_attempt=True,
        account_id=tried.account_id,
        code=result.code,
        enhanced=result.enhanced or "",
        reply=result.reply,
        message_id=tried.message_id,
    )
    kind = result.kind
    if kind == SendKind.SENT:
        return outcome
    if kind == SendKind.SUPPRESSED:
        outcome.status = DeliveryStatus.SUPPRESSED
        return outcome
    if kind == SendKind.PERMANENT:
        outcome.suppress = result.suppress
        outcome.status = DeliveryStatus.NOT_FOUND if result.suppress else DeliveryStatus.FAILED
        return outcome
    if kind == SendKind.QUOTA:
        # The provider's limit for the account's day: the message is not at fault. It waits
        # without an attempt; the account's day closes, so it goes through another account
        # of its campaign, or waits for the account's next day.
        outcome.spend_attempt = False
        outcome.status = DeliveryStatus.DEFERRED
        outcome.day_closed = True
        outcome.next_attempt_at = now + ACCOUNT_BACKOFF
        return outcome
    if kind in (SendKind.AUTH, SendKind.CONNECTION):
        # The account's fault: the delivery keeps its attempts and waits, or moves to
        # another account at once when this one's credentials were refused.
        outcome.spend_attempt = False
        outcome.status = DeliveryStatus.DEFERRED
        outcome.account_error = result.reply if kind == SendKind.AUTH else ""
        outcome.next_attempt_at = now if kind == SendKind.AUTH else now + account_backoff(result)
        return outcome
    # Temporary, or ambiguous (retried with the same Message-ID).
    tries = tried.attempts + 1
    if tries >= tried.max_attempts:
        outcome.status = DeliveryStatus.FAILED
        return outcome
    outcome.status = DeliveryStatus.DEFERRED
    outcome.next_attempt_at = policy.next_try(tries, now)
    return outcome


def account_backoff(fault: SendResult | None) -> timedelta:
    """How long an account's deliveries wait after its fault: what the service asked for
    (Retry-After), within bounds, or ACCOUNT_BACKOFF."""
    if fault is None or fault.retry_after is None:
        return ACCOUNT_BACKOFF
    asked = timedelta(seconds=fault.retry_after)
    return min(max(asked, RETRY_AFTER_MIN), RETRY_AFTER_MAX)


def account_down(
    delivery_id: int,
    fault: SendResult | None,
    now: datetime,
    *,
    account_id: int,
    message_id: str,
) -> Outcome:
    """Its account failed on an earlier message of the batch: it waits without an attempt
    (at once for another account after a refused password, after a pause otherwise).

    After a refused password it keeps the account's From domain, as if tried (`message_id`,
    the one it had or would have had there, is set): it moves only to an account of the same
    domain, or waits.
    """
    auth = fault is not None and fault.kind == SendKind.AUTH
    outcome = Outcome(
        delivery_id,
        DeliveryStatus.DEFERRED,
        next_attempt_at=now if auth else now + account_backoff(fault),
        reply=fault.reply if fault is not None else "the account failed",
    )
    if auth:
        outcome.account_id = account_id
        outcome.message_id = message_id
    return outcome


def waiting(delivery_id: int, until: datetime | None, reason: str, now: datetime) -> Outcome:
    """No account has room for it now: it waits until room comes (or ACCOUNT_BACKOFF when
    nobody knows when), without spending an attempt."""
    return Outcome(
        delivery_id, DeliveryStatus.DEFERRED, next_attempt_at=until or now + ACCOUNT_BACKOFF,
        reply=reason,
    )  # fmt: skip


def held_up(delivery_id: int, now: datetime) -> Outcome:
    """Its campaign's free accounts had no room; a busy one may have: it waits a moment,
    without an attempt."""
    return Outcome(delivery_id, DeliveryStatus.QUEUED, next_attempt_at=now + HELD_UP)


def released(delivery_id: int, campaign_status: str, now: datetime) -> Outcome:
    """Not tried because the campaign stopped: back in the queue, or cancelled with it."""
    if campaign_status == CampaignStatus.CANCELLED:
        return Outcome(delivery_id, DeliveryStatus.CANCELLED)
    return Outcome(delivery_id, DeliveryStatus.QUEUED, next_attempt_at=now)


def final(delivery_id: int, status: str, reply: str) -> Outcome:
    """It ends without a try (content that cannot be rendered)."""
    return Outcome(delivery_id, status, reply=reply)


def recipient_gone(delivery_id: int) -> Outcome:
    """Its recipient was deleted or erased after it was queued: it ends without a message."""
    return Outcome(
        delivery_id, DeliveryStatus.CANCELLED, reply="The recipient was deleted before sending."
    )


def suppressed(delivery_id: int) -> Outcome:
    """Its address is suppressed: it ends without a message, with an attempt that says so."""
    return Outcome(
        delivery_id,
        DeliveryStatus.SUPPRESSED,
        attempt=AttemptOutcome.SUPPRESSED,
        reply="The address is on the suppression list.",
    )


def past_lifetime(launched_at: datetime | None, lifetime_seconds: int, now: datetime) -> bool:
    """Whether a campaign's lifetime is over: its deliveries are no longer tried. A campaign
    not launched yet (no start time) is not."""
    started = launched_at or now
    return now - started > timedelta(seconds=lifetime_seconds)


def expired(delivery_id: int, *, attempts: int, last_code: int | None, last_reply: str) -> Outcome:
    """Not sent within the campaign's lifetime: `expired`, or `connection_error` when no
    server ever answered for it (every try failed on the account's side)."""
    unreachable = attempts == 0 and last_code is None and bool(last_reply)
    status = DeliveryStatus.CONNECTION_ERROR if unreachable else DeliveryStatus.EXPIRED
    return Outcome(delivery_id, status, reply="Not sent within the campaign's lifetime.")


def is_policy_refusal(attempt: str | None, enhanced: str) -> bool:
    """A permanent refusal by the server's policy (5.7.x): counts towards the pause."""
    return attempt == AttemptOutcome.PERMANENT and enhanced.startswith("5.7")


def past_threshold(refused: int, attempts: int, *, least: int, share: float) -> bool:
    """Whether a campaign's policy refusals pause it: at least `least` of them, and at least
    `share` of its attempts."""
    return refused >= least and refused >= share * attempts
