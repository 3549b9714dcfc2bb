"""Promises 3 and 5: random temporary failures, dropped connections and a silent server."""

from collections import Counter
from datetime import timedelta

import pytest

from campaigns.engine.step import Engine
from campaigns.models import Attempt, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db


def drive(engine: Engine, time_machine, rounds: int, step: timedelta) -> None:
    for _ in range(rounds):
        engine.step()
        time_machine.shift(step)


def test_random_451s_to_a_tenth_still_deliver_everyone_exactly_once(
    personas, smtp_sink, time_machine
):
    """Promise 3."""
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    smtp_sink.fail_percent(10, seed=3)
    setup = make_campaign(personas.workspace, smtp_sink, n=200)
    setup.campaign.max_attempts = 10
    setup.campaign.save()
    campaign_start(campaign=setup.campaign)
    drive(Engine(batch_size=100), time_machine, 40, timedelta(seconds=5))

    received = Counter(m.rcpt_tos[0] for m in smtp_sink.messages)
    assert len(received) == 200
    assert set(received.values()) == {1}
    assert Attempt.objects.filter(outcome="temporary").count() > 0  # failures did happen
    assert Delivery.objects.exclude(status=DeliveryStatus.SENT).count() == 0
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.COMPLETED


def test_connections_dropped_after_the_data_lose_nothing(personas, smtp_sink, time_machine):
    """Promise 5, first half: the ambiguous ones are retried with the same Message-ID."""
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=30)
    smtp_sink.drop_during_data(times=3)
    campaign_start(campaign=setup.campaign)
    drive(Engine(batch_size=10), time_machine, 30, timedelta(seconds=30))

    received = Counter(m.rcpt_tos[0] for m in smtp_sink.messages)
    assert len(received) == 30
    dropped_ids = {m.message_id for m in smtp_sink.dropped}
    assert len(smtp_sink.dropped) == 3
    assert dropped_ids <= {m.message_id for m in smtp_sink.messages}
    assert Attempt.objects.filter(outcome="ambiguous").count() == 3


def test_a_server_that_stops_answering_is_waited_for_and_nothing_is_lost(
    personas, smtp_sink, settings, time_machine
):
    """Promise 5, second half: a timeout is the account's fault; no attempt is spent."""
    settings.SENDING_TIMEOUT = 1
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=5)
    campaign_start(campaign=setup.campaign)
    smtp_sink.hang()
    Engine().step()
    assert smtp_sink.messages == []
    waiting = Delivery.objects.filter(status=DeliveryStatus.DEFERRED)
    assert waiting.count() == 5
    assert {d.attempts for d in waiting} == {0}
    assert Attempt.objects.filter(outcome="connection").exists()

    smtp_sink.hang(False)
    drive(Engine(), time_machine, 3, timedelta(seconds=61))
    assert len({m.rcpt_tos[0] for m in smtp_sink.messages}) == 5
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.COMPLETED
