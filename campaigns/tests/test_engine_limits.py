"""Promise 6: daily limits and minimum waits across several accounts, with a movable clock."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from campaigns.engine.step import Engine
from campaigns.models import Attempt, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def test_three_accounts_of_thirty_a_day_send_ninety_today_and_the_rest_tomorrow(
    personas, smtp_sink, time_machine
):
    time_machine.move_to("2026-11-21 09:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=100)
    setup.account.daily_limit = 30
    setup.account.min_interval_seconds = 1
    setup.account.save()
    for i in range(2):
        setup.campaign.accounts.add(
            SendingAccountFactory.create(
                workspace=personas.workspace,
                smtp_host=smtp_sink.host,
                smtp_port=smtp_sink.port,
                from_email=f"second{i}@example.com",
                daily_limit=30,
                min_interval_seconds=1,
            )
        )
    campaign_start(campaign=setup.campaign)
    engine = Engine(batch_size=10)

    # Walk through the day a second at a time while anything is due.
    for _ in range(45):  # 3 accounts x 1 message a second: 90 messages take 30 seconds
        engine.step()
        time_machine.shift(timedelta(seconds=1))
    assert len(smtp_sink.messages) == 90
    attempts = list(Attempt.objects.filter(outcome="sent").order_by("created_at", "id"))
    assert Counter(a.account_id for a in attempts) == Counter(
        dict.fromkeys(setup.campaign.accounts.values_list("pk", flat=True), 30)
    )
    for account_id in {a.account_id for a in attempts}:
        times = [a.created_at for a in attempts if a.account_id == account_id]
        gaps = [later - earlier for earlier, later in pairwise(times)]
        assert min(gaps) >= timedelta(seconds=1)
    waiting = Delivery.objects.filter(status=DeliveryStatus.DEFERRED)
    assert waiting.count() == 10
    tomorrow = datetime(2026, 11, 22, tzinfo=UTC)
    assert all(d.next_attempt_at >= tomorrow for d in waiting)
    assert all(d.attempts == 0 for d in waiting)  # waiting for room is not a failed try

    time_machine.move_to("2026-11-22 00:00:01Z", tick=False)
    for _ in range(10):
        engine.step()
        time_machine.shift(timedelta(seconds=1))
    assert len(smtp_sink.messages) == 100
    assert len({m.rcpt_tos[0] for m in smtp_sink.messages}) == 100
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.COMPLETED
