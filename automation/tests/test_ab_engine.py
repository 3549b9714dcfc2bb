"""A/B tests through the real engine and SMTP server: the test share, the winner to the rest,
exactly once, whatever runs the duty twice or chooses by hand."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from automation.ab_decisions import ab_tests_decide_due, run_ab_test_step
from automation.ab_reports import ab_report
from campaigns.ab_tests import AbTestSetup, ab_test_save, ab_test_send_winner
from campaigns.engine.step import Engine
from campaigns.models import AbTestState, CampaignStatus, Delivery, Variant
from campaigns.services import (
    CampaignError,
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_start,
)
from campaigns.tests.conftest import make_campaign
from tracking.events import Fact, record
from tracking.models import EventKind, EventSource

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def run_until_idle(engine: Engine, rounds: int = 100) -> None:
    for _ in range(rounds):
        if not engine.step():
            return


def subject_test(personas, sink, n=100, kind="subject", values=("Spring sale", "Last chance")):
    setup = make_campaign(personas.workspace, sink, n=n)
    ab_test_save(
        campaign=setup.campaign,
        setup=AbTestSetup(
            kind=kind, values=list(values), test_percent=20, criterion="opens", wait_hours=4
        ),
    )
    return setup


def open_by(delivery: Delivery, machine: bool = False) -> None:
    record(Fact(kind=EventKind.OPENED, source=EventSource.LINK, machine=machine), delivery=delivery)


def opens_for(label: str, count: int, machine: bool = False) -> None:
    variant = Variant.objects.get(position="AB".index(label))
    for delivery in Delivery.objects.filter(variant=variant).order_by("pk")[:count]:
        open_by(delivery, machine=machine)


def test_test_share_then_winner_to_the_rest_once(personas, smtp_sink, time_machine):
    time_machine.move_to(START, tick=False)
    setup = subject_test(personas, smtp_sink)
    result = campaign_start(campaign=setup.campaign)
    assert result.inserted == 20
    run_until_idle(Engine(batch_size=10))

    test_messages = smtp_sink.wait_for(20)
    assert Counter(m.subject for m in test_messages) == {"Spring sale": 10, "Last chance": 10}
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.RUNNING  # not completed while testing
    assert setup.campaign.ab_test.state == AbTestState.TESTING

    opens_for("B", 6)
    opens_for("A", 2)
    opens_for("A", 9, machine=True)  # a privacy proxy's opens count for nobody
    assert ab_tests_decide_due(now=START + dt.timedelta(hours=3)) == 0  # still waiting

    time_machine.move_to(START + dt.timedelta(hours=4, minutes=1), tick=False)
    assert run_ab_test_step() is False
    run_until_idle(Engine(batch_size=25))
    messages = smtp_sink.wait_for(100)
    assert len(messages) == 100
    by_person = Counter(m.rcpt_tos[0] for m in messages)
    assert max(by_person.values()) == 1  # nobody got two messages
    assert len(by_person) == 100
    later = [m.subject for m in messages[20:]]
    assert set(later) == {"Last chance"}
    test = setup.campaign.ab_test
    test.refresh_from_db()
    assert (test.state, test.winner.label, test.decided_by_hand) == ("decided", "B", False)

    # The duty again (a second worker, a retried Celery task): nothing more is created.
    assert ab_tests_decide_due(now=START + dt.timedelta(hours=5)) == 0
    assert Delivery.objects.count() == 100
    run_until_idle(Engine())
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.COMPLETED
    assert len(smtp_sink.messages) == 100


def test_from_name_variants_carry_their_from_name(personas, smtp_sink):
    setup = subject_test(personas, smtp_sink, n=10, kind="from_name", values=("Anna", "Boris"))
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    froms = Counter(
        m.header("From").split("<")[0].strip().strip('"') for m in smtp_sink.wait_for(2)
    )
    assert froms == {"Anna": 1, "Boris": 1}


def test_winner_by_hand_before_the_wait_and_the_duty_then_does_nothing(personas, smtp_sink):
    setup = subject_test(personas, smtp_sink, n=50)
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    assert len(smtp_sink.wait_for(10)) == 10
    a = Variant.objects.get(position=0)
    created = ab_test_send_winner(campaign=setup.campaign, variant=a, now=START, by_hand=True)
    assert created == 40
    assert ab_test_send_winner(campaign=setup.campaign, variant=a, now=START) is None
    assert ab_tests_decide_due(now=START + dt.timedelta(days=2)) == 0
    run_until_idle(Engine())
    messages = smtp_sink.wait_for(50)
    assert len({m.rcpt_tos[0] for m in messages}) == len(messages) == 50
    assert Counter(m.subject for m in messages)["Spring sale"] == 45


def test_a_cancelled_campaign_sends_no_winner(personas, smtp_sink):
    setup = subject_test(personas, smtp_sink, n=20)
    campaign_start(campaign=setup.campaign)
    campaign_cancel(campaign=setup.campaign)
    assert ab_tests_decide_due(now=START + dt.timedelta(days=30)) == 0
    with pytest.raises(CampaignError):
        ab_test_send_winner(
            campaign=setup.campaign, variant=Variant.objects.get(position=1), now=START
        )
    assert Delivery.objects.count() == 4


def test_the_split_is_the_seeds(personas, smtp_sink):
    setup = subject_test(personas, smtp_sink, n=30)
    test = setup.campaign.ab_test
    test.seed = 12345
    test.save(update_fields=["seed"])
    campaign_start(campaign=setup.campaign)
    chosen = sorted(Delivery.objects.values_list("email", "variant__position"))
    expected = sorted(
        (r.email, i // 3)
        for i, r in enumerate(
            sorted(
                setup.recipients,
                key=lambda r: ((r.pk * 2_654_435_761 + 12345) % 4_294_967_311, r.pk),
            )[:6]
        )
    )
    assert chosen == expected


def test_time_spent_paused_does_not_count_towards_the_wait(personas, smtp_sink, time_machine):
    time_machine.move_to(START, tick=False)
    setup = subject_test(personas, smtp_sink, n=20)  # waits 4 hours
    campaign_start(campaign=setup.campaign)
    time_machine.move_to(START + dt.timedelta(hours=1), tick=False)
    campaign_pause(campaign=setup.campaign)
    time_machine.move_to(START + dt.timedelta(hours=3), tick=False)
    campaign_resume(campaign=setup.campaign)  # two hours paused: the wait ends at 6 hours

    assert ab_tests_decide_due(now=START + dt.timedelta(hours=5)) == 0
    setup.campaign.ab_test.refresh_from_db()
    assert setup.campaign.ab_test.state == AbTestState.TESTING
    assert ab_tests_decide_due(now=START + dt.timedelta(hours=6, minutes=1)) == 1


def test_a_campaign_still_paused_keeps_its_test_waiting(personas, smtp_sink, time_machine):
    time_machine.move_to(START, tick=False)
    setup = subject_test(personas, smtp_sink, n=20)
    campaign_start(campaign=setup.campaign)
    time_machine.move_to(START + dt.timedelta(hours=1), tick=False)
    campaign_pause(campaign=setup.campaign)
    assert ab_tests_decide_due(now=START + dt.timedelta(days=2)) == 0


def test_the_report_shows_the_wait_moved_on_by_the_pause(personas, smtp_sink, time_machine):
    time_machine.move_to(START, tick=False)
    setup = subject_test(personas, smtp_sink, n=20)
    campaign_start(campaign=setup.campaign)
    time_machine.move_to(START + dt.timedelta(hours=1), tick=False)
    campaign_pause(campaign=setup.campaign)
    time_machine.move_to(START + dt.timedelta(hours=2, minutes=30), tick=False)
    campaign_resume(campaign=setup.campaign)
    report = ab_report(personas.workspace, setup.campaign.pk)
    assert report is not None
    assert report.ends_at == START + dt.timedelta(hours=5, minutes=30)
