"""The engine over pipelined SMTP with several connections per account: the promises hold."""

from collections import Counter
from datetime import timedelta

import pytest

from audience.models import Suppression
from campaigns.engine.step import Engine
from campaigns.models import Attempt, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_pause, campaign_resume, campaign_start
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipelining(smtp_sink):
    """The test sink, offering PIPELINING as real servers do."""
    smtp_sink.offer_pipelining()
    return smtp_sink


@pytest.fixture(autouse=True)
def _three_connections(settings):
    settings.SENDING_CONNECTIONS_PER_ACCOUNT = 3


def drive(engine: Engine, time_machine, rounds: int, step: timedelta) -> None:
    for _ in range(rounds):
        engine.step()
        time_machine.shift(step)


def test_a_campaign_goes_out_once_each_over_several_pipelined_connections(personas, pipelining):
    setup = make_campaign(personas.workspace, pipelining, n=60)
    campaign_start(campaign=setup.campaign)
    while Engine(batch_size=25).step():
        pass
    Engine().step()
    received = Counter(m.rcpt_tos[0] for m in pipelining.wait_for(60))
    assert len(received) == 60
    assert set(received.values()) == {1}
    assert 1 < pipelining.connections <= 9  # three per batch at most, kept between batches
    by_email = {m.rcpt_tos[0]: m for m in pipelining.messages}
    for delivery in Delivery.objects.all():
        assert delivery.status == DeliveryStatus.SENT
        assert by_email[delivery.email].message_id == delivery.message_id
    assert by_email["person7@example.test"].subject == "Hello Name7"
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.COMPLETED


def test_random_451s_still_deliver_everyone_exactly_once(personas, pipelining, time_machine):
    """Promise 3, pipelined."""
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    pipelining.fail_percent(10, seed=5)
    setup = make_campaign(personas.workspace, pipelining, n=200)
    setup.campaign.max_attempts = 10
    setup.campaign.save()
    campaign_start(campaign=setup.campaign)
    drive(Engine(batch_size=100), time_machine, 40, timedelta(seconds=5))
    received = Counter(m.rcpt_tos[0] for m in pipelining.messages)
    assert len(received) == 200
    assert set(received.values()) == {1}
    assert Attempt.objects.filter(outcome="temporary").count() > 0
    assert Delivery.objects.exclude(status=DeliveryStatus.SENT).count() == 0


def test_unknown_users_are_not_found_and_suppressed(personas, pipelining):
    """Promise 4, pipelined: the refusal in the middle of a pipeline leaves the rest going."""
    emails = ["a@example.test", "nouser+1@example.test", "b@example.test"]
    setup = make_campaign(personas.workspace, pipelining, emails=emails)
    campaign_start(campaign=setup.campaign)
    Engine().step()
    assert Delivery.objects.get(email="nouser+1@example.test").status == DeliveryStatus.NOT_FOUND
    assert Suppression.objects.filter(email="nouser+1@example.test").exists()
    assert sorted(m.rcpt_tos[0] for m in pipelining.messages) == [
        "a@example.test",
        "b@example.test",
    ]
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 2


def test_connections_dropped_after_the_data_lose_nothing(personas, pipelining, time_machine):
    """Promise 5, pipelined: the ambiguous ones are retried with the same Message-ID."""
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, pipelining, n=30)
    pipelining.drop_during_data(times=3)
    campaign_start(campaign=setup.campaign)
    drive(Engine(batch_size=10), time_machine, 30, timedelta(seconds=30))
    received = Counter(m.rcpt_tos[0] for m in pipelining.messages)
    assert len(received) == 30
    assert len(pipelining.dropped) == 3
    assert {m.message_id for m in pipelining.dropped} <= {m.message_id for m in pipelining.messages}
    assert Attempt.objects.filter(outcome="ambiguous").count() == 3


@pytest.mark.django_db(transaction=True)  # the pause is made on the sink's thread, meanwhile
def test_a_pause_stops_new_messages_and_resume_continues(personas, pipelining, settings):
    """Promise 7, pipelined: envelopes already sent are abandoned, never completed."""
    settings.DELIVERY_STATUS_CHECK_SECONDS = 0  # looked at before each message
    setup = make_campaign(personas.workspace, pipelining, n=12)
    campaign_start(campaign=setup.campaign)
    paused: list[int] = []

    def pause_at_the_fourth(message):
        # A person pauses while the server takes the fourth message, before it answers; the
        # sink stands still meanwhile.
        if len(pipelining.messages) >= 4 and not paused:
            campaign_pause(campaign=setup.campaign)
            paused.append(len(pipelining.messages))

    pipelining.on_message(pause_at_the_fourth, times=None)
    engine = Engine(batch_size=12)
    engine.step()
    sent_at_pause = len(pipelining.messages)
    # Bodies the other two connections had written before the pause was taken complete;
    # nothing else does (an envelope without its body is abandoned).
    assert paused
    assert paused[0] <= sent_at_pause <= paused[0] + 2 < 12
    statuses = Counter(Delivery.objects.values_list("status", flat=True))
    assert statuses[DeliveryStatus.SENT] == sent_at_pause
    assert statuses[DeliveryStatus.QUEUED] == 12 - sent_at_pause
    assert not engine.step()
    assert len(pipelining.messages) == sent_at_pause

    campaign_resume(campaign=setup.campaign)
    while engine.step():
        pass
    engine.step()
    received = Counter(m.rcpt_tos[0] for m in pipelining.messages)
    assert len(received) == 12
    assert set(received.values()) == {1}
