"""Every rule of the engine (DESIGN.md, "Rules the engine keeps"), as a table.

Each row is a server's reply (as `sending.classify` reads it) or a fact about a delivery,
and what the engine must do with it. The rules are pure (campaigns/engine/outcome.py): no
database, no server, no clock.
"""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.engine import outcome as rules
from campaigns.engine.retry import RetryPolicy
from campaigns.models import AttemptOutcome, CampaignStatus, DeliveryStatus
from sending.classify import Stage, classify_exception, classify_reply
from sending.transports.base import SendKind, SendResult

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
POLICY = RetryPolicy(base=timedelta(minutes=5), cap=timedelta(hours=1), jitter=0)
BACKOFF = NOW + rules.ACCOUNT_BACKOFF
SOON = "policy"  # the retry policy's time for the next try
IID = "<1.7.abc@example.com>"


def reply(code: int, text: str, stage: Stage = "rcpt") -> SendResult:
    return classify_reply(code, text, stage=stage)


def service(status: int, retry_after: float | None = None) -> SendResult:
    """A service's 429 or 5xx, as the anymail transport gives it."""
    return SendResult(
        SendKind.CONNECTION, "The service asked to try later", status, retry_after=retry_after
    )


def lost(stage: Stage) -> SendResult:
    return classify_exception(smtplib.SMTPServerDisconnected("gone"), stage=stage)


# (rule, result, attempts spent before, status, spends an attempt, next try, suppress, the
# account goes to error)
TABLE = [
    ("250 at the end of DATA: sent", reply(250, "2.0.0 OK", "data"), 0,
     DeliveryStatus.SENT, True, None, False, False),
    ("5.1.1 unknown user: not found, address suppressed", reply(550, "5.1.1 User unknown"), 0,
     DeliveryStatus.NOT_FOUND, True, None, True, False),
    ("null MX (556): not found, suppressed", reply(556, "5.1.10 No mail here"), 0,
     DeliveryStatus.NOT_FOUND, True, None, True, False),
    ("5.1.8 bad sender: failed, not suppressed", reply(553, "5.1.8 Bad sender", "mail"), 0,
     DeliveryStatus.FAILED, True, None, False, False),
    ("5.7.1 policy refusal: failed, not suppressed", reply(554, "5.7.1 Spam"), 0,
     DeliveryStatus.FAILED, True, None, False, False),
    ("5xx without an enhanced code: failed", reply(554, "Transaction failed", "data"), 0,
     DeliveryStatus.FAILED, True, None, False, False),
    ("4xx: deferred with backoff, an attempt spent", reply(451, "4.3.0 Try later"), 0,
     DeliveryStatus.DEFERRED, True, SOON, False, False),
    ("552 at RCPT counts as temporary", reply(552, "5.2.2 Mailbox full"), 0,
     DeliveryStatus.DEFERRED, True, SOON, False, False),
    ("4xx at the campaign's last attempt: failed", reply(451, "4.3.0 Try later"), 2,
     DeliveryStatus.FAILED, True, None, False, False),
    ("421: the account's fault, deferred without an attempt", reply(421, "4.3.2 Bye"), 0,
     DeliveryStatus.DEFERRED, False, BACKOFF, False, False),
    ("connection lost before the dot: account's fault", lost("mail"), 0,
     DeliveryStatus.DEFERRED, False, BACKOFF, False, False),
    ("timeout: account's fault", classify_exception(TimeoutError(), stage="connect"), 0,
     DeliveryStatus.DEFERRED, False, BACKOFF, False, False),
    ("connection lost after the dot: ambiguous, retried", lost("after_dot"), 0,
     DeliveryStatus.DEFERRED, True, SOON, False, False),
    ("ambiguous at the last attempt: failed", lost("after_dot"), 2,
     DeliveryStatus.FAILED, True, None, False, False),
    ("535: account to error, due at once elsewhere", reply(535, "5.7.8 Bad", "auth"), 0,
     DeliveryStatus.DEFERRED, False, NOW, False, True),
    ("5.4.5 provider's daily limit: the account's day ends, no attempt",
     reply(550, "5.4.5 Daily user sending quota exceeded."), 0,
     DeliveryStatus.DEFERRED, False, BACKOFF, False, False),
    ("provider's limit at the last attempt: still no attempt",
     reply(554, "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException", "data"),
     2, DeliveryStatus.DEFERRED, False, BACKOFF, False, False),
    ("a full mailbox's quota is the recipient's: temporary",
     reply(452, "4.2.2 The email account that you tried to reach is over quota"), 0,
     DeliveryStatus.DEFERRED, True, SOON, False, False),
    # E-mail services, as sending.transports.anymail reads their answers.
    ("service 429: the account's fault, no attempt", service(429), 0,
     DeliveryStatus.DEFERRED, False, BACKOFF, False, False),
    ("service 503: the account's fault, no attempt", service(503), 0,
     DeliveryStatus.DEFERRED, False, BACKOFF, False, False),
    ("service 429 at the last attempt: still no attempt", service(429), 2,
     DeliveryStatus.DEFERRED, False, BACKOFF, False, False),
    ("service 429, Retry-After 120: due then", service(429, retry_after=120), 0,
     DeliveryStatus.DEFERRED, False, NOW + timedelta(seconds=120), False, False),
    ("service 429, Retry-After 0: not sooner than the least wait", service(429, retry_after=0), 0,
     DeliveryStatus.DEFERRED, False, NOW + rules.RETRY_AFTER_MIN, False, False),
    ("service 503, Retry-After a day: no later than the most", service(503, retry_after=86400),
     0, DeliveryStatus.DEFERRED, False, NOW + rules.RETRY_AFTER_MAX, False, False),
    ("service: invalid recipient, not found, suppressed",
     SendResult(SendKind.PERMANENT, "The service says the address is not valid", suppress=True),
     0, DeliveryStatus.NOT_FOUND, True, None, True, False),
    ("service: on its suppression list, suppressed, not added to ours",
     SendResult(SendKind.SUPPRESSED, "The service keeps the address on its suppression list"),
     0, DeliveryStatus.SUPPRESSED, True, None, False, False),
    ("service: From address refused, account to error", SendResult(
        SendKind.AUTH, "The service does not accept this From address: x", 403),
     0, DeliveryStatus.DEFERRED, False, NOW, False, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "result", "spent", "status", "spends", "next_try", "suppress", "account_error"),
    TABLE,
    ids=[row[0] for row in TABLE],
)
def test_after_send(rule, result, spent, status, spends, next_try, suppress, account_error):
    tried = rules.Tried(7, attempts=spent, max_attempts=3, account_id=4, message_id=IID)
    out = rules.after_send(tried, result, POLICY, NOW)
    assert out.status == status
    assert out.spend_attempt == spends
    assert out.attempt == str(result.kind)  # every try leaves an attempt row
    assert out.message_id == IID  # kept for a retry: the same Message-ID
    expected = POLICY.next_try(spent + 1, NOW) if next_try == SOON else next_try
    assert out.next_attempt_at == expected
    assert out.suppress == suppress
    assert bool(out.account_error) == account_error
    assert out.day_closed == (result.kind == SendKind.QUOTA)  # only then the account's day ends


@pytest.mark.parametrize(
    ("enhanced", "attempt", "counts"),
    [
        ("5.7.1", AttemptOutcome.PERMANENT, True),
        ("5.7.0", AttemptOutcome.PERMANENT, True),
        ("5.1.1", AttemptOutcome.PERMANENT, False),
        ("4.7.1", AttemptOutcome.TEMPORARY, False),
        ("", None, False),
    ],
)
def test_policy_refusals_are_permanent_5_7_x(enhanced, attempt, counts):
    assert rules.is_policy_refusal(attempt, enhanced) == counts


@pytest.mark.parametrize(
    ("refused", "attempts", "pauses"),
    [(19, 19, False), (20, 200, True), (20, 201, False), (40, 100, True)],
)
def test_a_campaign_pauses_past_both_thresholds(refused, attempts, pauses):
    assert rules.past_threshold(refused, attempts, least=20, share=0.1) == pauses


@pytest.mark.parametrize(
    ("attempts", "last_code", "last_reply", "status"),
    [
        (0, None, "Connection refused", DeliveryStatus.CONNECTION_ERROR),  # no server answered
        (0, None, "", DeliveryStatus.EXPIRED),  # never tried
        (1, 451, "451 4.3.0 later", DeliveryStatus.EXPIRED),
        (0, 421, "421 closing", DeliveryStatus.EXPIRED),
    ],
)
def test_past_the_lifetime_a_delivery_expires_or_was_unreachable(
    attempts, last_code, last_reply, status
):
    out = rules.expired(7, attempts=attempts, last_code=last_code, last_reply=last_reply)
    assert out.status == status
    assert out.attempt is None
    assert not out.spend_attempt


def test_a_suppressed_address_ends_with_an_attempt_that_says_so():
    out = rules.suppressed(7)
    assert out.status == DeliveryStatus.SUPPRESSED
    assert out.attempt == AttemptOutcome.SUPPRESSED
    assert not out.spend_attempt


@pytest.mark.parametrize(
    ("fault", "due", "keeps_domain"),
    [
        (SendResult(SendKind.AUTH, "535 5.7.8 Bad"), NOW, True),
        (SendResult(SendKind.CONNECTION, "Timed out"), BACKOFF, False),
        (None, BACKOFF, False),
        # A service's Retry-After holds the rest of the share as long, within the bounds.
        (
            SendResult(SendKind.CONNECTION, "429", 429, retry_after=300),
            NOW + timedelta(minutes=5),
            False,
        ),
        (
            SendResult(SendKind.CONNECTION, "503", 503, retry_after=1e9),
            NOW + rules.RETRY_AFTER_MAX,
            False,
        ),
    ],
)
def test_the_rest_of_a_failed_accounts_share_waits_without_an_attempt(fault, due, keeps_domain):
    out = rules.account_down(7, fault, NOW, account_id=4, message_id=IID)
    assert out.status == DeliveryStatus.DEFERRED
    assert out.next_attempt_at == due
    assert out.attempt is None
    assert not out.spend_attempt
    # After a refused password it keeps the From domain (as if tried): same domain only.
    assert (out.message_id == IID) == keeps_domain


def test_no_room_waits_until_room_comes_without_an_attempt():
    later = NOW + timedelta(hours=3)
    assert rules.waiting(7, later, "daily limit", NOW).next_attempt_at == later
    assert rules.waiting(7, None, "no account", NOW).next_attempt_at == BACKOFF
    assert rules.waiting(7, later, "daily limit", NOW).status == DeliveryStatus.DEFERRED


@pytest.mark.parametrize(
    ("campaign_status", "status"),
    [(CampaignStatus.CANCELLED, DeliveryStatus.CANCELLED), (CampaignStatus.PAUSED, "queued")],
)
def test_a_stopped_campaigns_untried_deliveries_go_back_or_end_cancelled(campaign_status, status):
    out = rules.released(7, campaign_status, NOW)
    assert out.status == status
    assert out.attempt is None


@pytest.mark.parametrize(
    ("launched", "over"),
    [(NOW - timedelta(days=3, seconds=1), True), (NOW - timedelta(days=3), False), (None, False)],
)
def test_a_campaign_lives_three_days_by_default(launched, over):
    assert rules.past_lifetime(launched, 3 * 24 * 3600, NOW) == over
