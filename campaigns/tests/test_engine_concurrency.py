"""One slow or dead server delays only its own account: the worker serves accounts at once.

The fault this guards against: one account's server held its greeting for 30 s (a tarpit);
the worker sent one account at a time in one thread, so every other account waited behind
it, batch after batch. Here a tarpit server and a healthy one stand side by side (two real
SMTP servers), and the test watches, from a thread of its own that touches no database, that
everything the healthy account was given arrives while the tarpit still holds its first
connection unanswered. Then the tarpit either answers late or dies, and every delivery ends
where it should: each recipient once, with its Message-ID, nothing lost.

Ordering, not speed, is asserted: the tarpit holds until the watcher has seen the healthy
server's messages (or gives up after a generous bound and lets it go, failing the test).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from audience.models import Recipient
from audience.tests.factories import RecipientListFactory
from campaigns.engine.step import Engine
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests import sink_checks
from campaigns.tests.conftest import make_campaign
from campaigns.tests.factories import CampaignFactory
from core.testing.smtp import SmtpSink
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db

BATCH = 10
N = 20  # recipients per campaign
PATIENCE = 60.0  # seconds the watcher waits for the healthy server at most (a bound, not a speed)


@pytest.fixture
def tarpit():
    with SmtpSink() as sink:
        yield sink


class Watcher(threading.Thread):
    """Waits until the healthy server has `wanted` messages and notes what the tarpit held
    at that moment; then ends the tarpit (answers late, or dies). No database here."""

    def __init__(self, healthy: SmtpSink, tarpit: SmtpSink, wanted: int, end: str) -> None:
        super().__init__(daemon=True)
        self.healthy, self.tarpit, self.wanted, self.end = healthy, tarpit, wanted, end
        self.seen: tuple[int, int, int] | None = None  # healthy messages, held, tarpit messages
        self.failure = ""

    def run(self) -> None:
        try:
            self.healthy.wait_for(self.wanted, timeout=PATIENCE)
            self.seen = (len(self.healthy.messages), self.tarpit.held, len(self.tarpit.messages))
        except AssertionError as exc:
            self.failure = str(exc)
        finally:
            if self.end == "late":
                self.tarpit.release()
            else:
                self.tarpit.stop()  # the server dies: its held connection is closed


def second_campaign(workspace, template_id: int | None, account) -> Campaign:
    people = Recipient.objects.bulk_create(
        [
            Recipient(workspace=workspace, email=f"other{i}@example.test", first_name=f"Other{i}")
            for i in range(N)
        ]
    )
    rl = RecipientListFactory.create(workspace=workspace, name="Others", members=people)
    return CampaignFactory.create(
        workspace=workspace,
        name="Other",
        template=None,
        template_id=template_id,
        lists=[rl],
        accounts=[account],
    )


@pytest.mark.parametrize("end", ["late", "dead"])
@pytest.mark.parametrize("layout", ["two campaigns", "one campaign, two accounts"])
def test_a_tarpit_account_holds_up_only_itself(
    personas, smtp_sink, tarpit, settings, time_machine, layout, end
):
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    smtp_sink.offer_pipelining()
    tarpit.offer_pipelining()
    settings.SENDING_TIMEOUT = 120  # the client waits for the tarpit; the watcher decides
    settings.DELIVERY_LEASE_SECONDS = 600
    healthy = smtp_sink
    tarpit.tarpit("greeting", seconds=PATIENCE + 30)
    # The tarpit account first, so that the old worker met it first in every batch.
    slow = make_campaign(personas.workspace, tarpit, n=N)
    fast_account = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=healthy.host,
        smtp_port=healthy.port,
        daily_limit=10_000,
        min_interval_seconds=0,
    )
    campaigns = [slow.campaign]
    if layout == "two campaigns":
        campaigns.append(
            second_campaign(personas.workspace, slow.campaign.template_id, fast_account)
        )
        held = BATCH // 2  # the slow campaign's part of the first batch
        wanted = N  # the whole of the other campaign
    else:
        slow.campaign.accounts.add(fast_account)
        held = BATCH // 2  # the tarpit account's even share of the first batch
        wanted = N - held  # everything else: the healthy account took it all
    for campaign in campaigns:
        campaign_start(campaign=campaign)

    watcher = Watcher(healthy, tarpit, wanted, end)
    watcher.start()
    engine = Engine(batch_size=BATCH)
    try:
        engine.step()  # it ends once the tarpit has answered or died
    finally:
        watcher.join(timeout=PATIENCE + 10)
        tarpit.release()

    # While the tarpit held its first connection, unanswered, the healthy server had
    # everything the healthy account was given.
    assert watcher.failure == ""
    assert watcher.seen is not None
    healthy_count, held_then, tarpit_count = watcher.seen
    assert healthy_count == wanted
    assert held_then == 1
    assert tarpit_count == 0

    # Then every delivery ends where it should: sent once each, nothing lost.
    if not tarpit.is_running:
        tarpit.start()  # the dead server comes back on its port
    for _ in range(20):
        if all(c.status == CampaignStatus.COMPLETED for c in campaigns):
            break
        time_machine.shift(timedelta(seconds=90))  # past the account's backoff
        engine.step()
        for campaign in campaigns:
            campaign.refresh_from_db()
    assert [c.status for c in campaigns] == [CampaignStatus.COMPLETED] * len(campaigns)
    messages = healthy.messages + tarpit.messages
    emails = dict(Delivery.objects.values_list("pk", "email"))
    assert sink_checks.check_messages(messages, emails) == []
    assert sink_checks.check_sent_are_received(messages) == []
    assert sink_checks.duplicates(messages) == (0, [])
    assert sorted(m.rcpt_tos[0] for m in messages) == sorted(emails.values())
    statuses = set(Delivery.objects.values_list("status", "attempts"))
    # A server that never answered cost no attempt: each went once, on its one attempt.
    assert statuses == {(DeliveryStatus.SENT, 1)}


def test_a_server_slow_with_every_message_gives_back_what_its_lane_could_not_start(
    personas, smtp_sink, tarpit, settings, time_machine
):
    """A lane sends for DELIVERY_LANE_SECONDS at most: a server that answers every message
    late would otherwise keep the step, and every other account behind it, for as long as
    its whole share takes. What the lane did not start goes back untried (no attempt spent)
    and is sent later, once."""
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    settings.SENDING_TIMEOUT = 30
    settings.DELIVERY_LANE_SECONDS = 1.0
    tarpit.slow(1.5)  # every message's final dot answered 1.5 s late: one per budget at most
    slow = make_campaign(personas.workspace, tarpit, n=6)
    fast_account = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        daily_limit=10_000,
        min_interval_seconds=0,
    )
    fast = second_campaign(personas.workspace, slow.campaign.template_id, fast_account)
    campaign_start(campaign=slow.campaign)
    campaign_start(campaign=fast)

    engine = Engine(batch_size=BATCH)
    engine.step()

    # The slow lane started at most two messages in its second; the rest of its share of the
    # batch went back to the queue untried, due a moment later.
    held = Delivery.objects.filter(
        campaign=slow.campaign, status=DeliveryStatus.QUEUED, attempts=0
    ).count()
    assert held >= BATCH // 2 - 2
    assert len(tarpit.messages) <= 2

    tarpit.slow(0)
    campaigns = [slow.campaign, fast]
    for _ in range(20):
        if all(c.status == CampaignStatus.COMPLETED for c in campaigns):
            break
        time_machine.shift(timedelta(seconds=90))
        engine.step()
        for campaign in campaigns:
            campaign.refresh_from_db()
    assert [c.status for c in campaigns] == [CampaignStatus.COMPLETED] * 2
    messages = smtp_sink.messages + tarpit.messages
    emails = dict(Delivery.objects.values_list("pk", "email"))
    assert sink_checks.duplicates(messages) == (0, [])
    assert sorted(m.rcpt_tos[0] for m in messages) == sorted(emails.values())
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 1)}
