"""A failure at any point of a batch leaves no state behind that could mix messages up.

The fault that this guards against: the database failed while a batch was being recorded,
the step raised, and the worker kept its pooled SMTP connection in the middle of a pipelined
transaction; the next batch wrote its envelope into the open DATA of the earlier message, so
one person received another's message, and replies were read as other messages' (a RCPT's
250 taken for a delivery's). After each injected failure the sink's messages are checked (see
`sink_checks`), and so is what was recorded.

Failures are injected where the real part cannot be made to fail from outside in-process:
the database calls of the engine raise (as psycopg does when the backend is gone) through
monkeypatched wrappers; the SMTP side fails for real (the test server drops connections).
The real-process tests on PostgreSQL (test_engine_processes_faults.py) break the database
for real.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone

from campaigns.engine import claim as claim_module
from campaigns.engine import record as record_module
from campaigns.engine import send, step
from campaigns.engine.claim import claim_batch
from campaigns.engine.outcome import Outcome
from campaigns.engine.record import Recorder
from campaigns.engine.retry import RetryPolicy
from campaigns.engine.send import Sender
from campaigns.engine.step import Engine
from campaigns.models import CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests import sink_checks
from campaigns.tests.conftest import Setup, make_campaign
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db

N = 60


@pytest.fixture(params=["pipelining", "one-at-a-time"])
def sink(request, smtp_sink):
    if request.param == "pipelining":
        smtp_sink.offer_pipelining()
    return smtp_sink


@pytest.fixture(autouse=True)
def _three_connections(settings):
    settings.SENDING_CONNECTIONS_PER_ACCOUNT = 3


def fails_at(k: int, real: Callable[..., Any], error: Exception) -> Callable[..., Any]:
    """`real`, except that its k-th call (from 0) raises `error`."""
    calls = [0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] - 1 == k:
            raise error
        return real(*args, **kwargs)

    return wrapper


def database_gone() -> OperationalError:
    return OperationalError("terminating connection due to administrator command")


def check(setup: Setup, sink, *, duplicates_bound: int, counted: bool = True) -> int:
    """The rules every failure must keep; returns the number of duplicates."""
    emails = dict(Delivery.objects.values_list("pk", "email"))
    names = {r.email: r.first_name for r in setup.recipients}
    messages = sink.messages
    assert sink_checks.check_messages(messages, emails, names) == []
    assert sink_checks.check_sent_are_received(messages) == []
    extra, mixed = sink_checks.duplicates(messages)
    assert mixed == []  # a message that went twice carried the same Message-ID
    assert extra <= duplicates_bound
    # The account's count for the day: each recipient once, plus what really went twice;
    # never room that the failed batch reserved and did not use.
    if counted:
        setup.account.refresh_from_db()
        # (A message whose dot got no answer counts: the server may have it.)
        went = len(messages) + len(sink.dropped)
        assert len(setup.recipients) <= setup.account.sent_today <= went
    return extra


def run_to_the_end(engine: Engine, time_machine, setup: Setup, rounds: int = 40) -> list[str]:
    """Steps until the campaign completes, as a driver does: a step that raises is noted
    and the next one runs."""
    failures: list[str] = []
    for _ in range(rounds):
        try:
            engine.step()
        except Exception as exc:  # what the drivers log and go on after
            failures.append(repr(exc))
        setup.campaign.refresh_from_db()
        if setup.campaign.status == CampaignStatus.COMPLETED:
            break
        time_machine.shift(timedelta(seconds=10))
    return failures


@pytest.mark.parametrize("k", [0, 1, 7, 25])
def test_a_record_that_raises_at_message_k_leaves_nothing_for_the_next_batch(
    personas, sink, time_machine, k
):
    """Unit level: `record` raises at the k-th outcome; the same Sender sends the next batch."""
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, sink, n=N)
    campaign_start(campaign=setup.campaign)
    sender = Sender(RetryPolicy.from_settings())
    now = timezone.now()
    lease = timedelta(seconds=60)
    first = claim_batch(worker="w", limit=30, now=now, lease=lease)
    seen: list[Outcome] = []

    def record(outcome: Outcome) -> None:
        if len(seen) == k:
            raise database_gone()
        seen.append(outcome)

    with pytest.raises(OperationalError):
        sender.send_batch(first, now, record)
    second = claim_batch(worker="w", limit=30, now=now, lease=lease)
    recorder = Recorder(worker="w", deliveries=second, lease=lease)
    sender.send_batch(second, now, recorder)
    recorder.flush()
    sender.close()

    # (The first batch is left as a dead worker leaves it: its room is not counted here.)
    check(setup, sink, duplicates_bound=0, counted=False)
    received = {m.rcpt_tos[0] for m in sink.messages}
    assert {d.email for d in second} <= received  # the second batch went out whole
    for delivery in Delivery.objects.filter(pk__in=[d.pk for d in second]):
        assert delivery.status == DeliveryStatus.SENT
        assert delivery.last_reply.startswith("250"), delivery.last_reply
        assert "2.1.5" not in delivery.last_reply  # the reply to its own dot, not a RCPT's


# Each point of a batch where the database (or the code) can fail, and how it is injected.
POINTS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "claim": lambda mp: mp.setattr(
        step, "claim_batch", fails_at(1, claim_module.claim_batch, database_gone())
    ),
    "status check during send": lambda mp: mp.setattr(
        send.StatusWatch,
        "stopped_as",
        fails_at(3, send.StatusWatch.stopped_as, database_gone()),
    ),
    "record": lambda mp: mp.setattr(
        record_module, "write_outcomes", fails_at(1, record_module.write_outcomes, database_gone())
    ),
    "rendering": lambda mp: mp.setattr(
        send, "_render", fails_at(17, send._render, RuntimeError("a bug in rendering"))
    ),
}


@pytest.mark.parametrize("accounts", [1, 2])
@pytest.mark.parametrize("point", list(POINTS))
def test_a_failure_at_each_point_of_a_batch_mixes_nothing_up_and_loses_nothing(
    personas, sink, time_machine, monkeypatch, settings, point, accounts
):
    """With two accounts their parts of the batch go from lanes (threads) at once: a failure
    in either thread stops both and drops both accounts' connections."""
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    settings.DELIVERY_STATUS_CHECK_SECONDS = 0  # looked at before each message
    setup = make_campaign(personas.workspace, sink, n=N)
    others = SendingAccountFactory.create_batch(
        accounts - 1,
        workspace=personas.workspace,
        smtp_host=sink.host,
        smtp_port=sink.port,
        daily_limit=10_000,
        min_interval_seconds=0,
    )
    setup.campaign.accounts.add(*others)
    campaign_start(campaign=setup.campaign)
    POINTS[point](monkeypatch)
    failures = run_to_the_end(Engine(batch_size=25), time_machine, setup)
    assert failures  # the failure did happen
    assert setup.campaign.status == CampaignStatus.COMPLETED
    # What a failed batch had confirmed is written on a fresh connection (`salvage`): here the
    # database is back at once, so only the bodies in flight when it failed (one per
    # connection at most: written, their dot's reply not read) can go twice.
    bound = settings.SENDING_CONNECTIONS_PER_ACCOUNT * accounts
    check(setup, sink, duplicates_bound=bound, counted=accounts == 1)
    if accounts > 1:  # the accounts' counts together, as `check` does for one
        counted = sum(a.sent_today for a in type(setup.account).objects.all())
        assert N <= counted <= len(sink.messages) + len(sink.dropped)
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == N
    assert len({m.rcpt_tos[0] for m in sink.messages}) == N


@pytest.mark.parametrize("stage", ["mail", "rcpt", "data", "dot"])
def test_a_connection_dropped_at_each_stage_mixes_nothing_up_and_loses_nothing(
    personas, sink, time_machine, stage
):
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, sink, n=N)
    setup.campaign.max_attempts = 10
    setup.campaign.save()
    campaign_start(campaign=setup.campaign)
    sink.drop_at(stage, times=3)
    failures = run_to_the_end(Engine(batch_size=25), time_machine, setup, rounds=80)
    assert failures == []  # a dropped connection is an outcome, not an exception
    assert setup.campaign.status == CampaignStatus.COMPLETED
    # Only a drop after the dot can duplicate: the server had the message, the engine
    # could not know it (ambiguous), and sent it again with the same Message-ID.
    check(setup, sink, duplicates_bound=3 if stage == "dot" else 0)
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == N
