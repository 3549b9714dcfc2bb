"""Which enrollments stop, and why: each rule, its order, what does not count, and a cost that
does not grow with the number of people (one lookup per workspace and batch, not a probe per
person whose plan depends on the planner's statistics)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audience.models import Recipient, RecipientStatus
from automation.models import Enrollment, StopReason
from automation.sequences.schedule import sequences_advance, stop_finished
from automation.sequences.services import sequence_activate
from automation.tests.sequence_setup import join, make_sequence
from campaigns.models import Delivery
from campaigns.tests.factories import DeliveryFactory
from tracking.events import Fact, record
from tracking.models import BounceType, EventKind, EventSource

pytestmark = pytest.mark.django_db


def _fact(kind: str, **extra: object) -> Fact:
    return Fact(kind=kind, source=EventSource.MAILBOX, **extra)  # type: ignore[arg-type]


def _reasons() -> dict[str, str]:
    return dict(Enrollment.objects.values_list("recipient__email", "stop_reason"))


def test_each_rule_its_order_and_what_does_not_stop(personas, time_machine):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace)
    sequence_activate(sequence=setup.sequence)
    people = join(setup, 9)
    sequences_advance(now=timezone.now())
    sent = {d.email: d for d in Delivery.objects.all()}
    soft, hard, complainer, left, both, earlier, elsewhere, quiet, scanned = (
        sent[p.email] for p in people
    )
    time_machine.shift(timedelta(hours=1))
    record(_fact(EventKind.BOUNCED, bounce_type=BounceType.SOFT), delivery=soft)
    record(_fact(EventKind.BOUNCED, bounce_type=BounceType.HARD), delivery=hard)
    record(_fact(EventKind.COMPLAINED), delivery=complainer)
    Recipient.objects.filter(email=left.email).update(status=RecipientStatus.UNSUBSCRIBED)
    record(_fact(EventKind.UNSUBSCRIBED), delivery=both)
    record(_fact(EventKind.REPLIED), delivery=both)  # a reply comes first among the reasons
    record(_fact(EventKind.REPLIED), delivery=earlier)
    Enrollment.objects.filter(recipient__email=earlier.email).update(
        enrolled_at=timezone.now() + timedelta(minutes=1)  # heard before this enrolment
    )
    other = DeliveryFactory.create(
        campaign__workspace=personas.workspace, recipient=elsewhere.recipient
    )
    record(Fact(kind=EventKind.CLICKED, source=EventSource.LINK, link_index=0), delivery=other)
    record(
        Fact(kind=EventKind.CLICKED, source=EventSource.LINK, link_index=0, machine=True),
        delivery=scanned,
    )

    assert stop_finished(now=timezone.now(), among=Enrollment.objects.all()) == 4
    assert _reasons() == {
        soft.email: "",
        hard.email: StopReason.BOUNCED,
        complainer.email: StopReason.COMPLAINED,
        left.email: StopReason.UNSUBSCRIBED,
        both.email: StopReason.REPLIED,
        earlier.email: "",
        elsewhere.email: "",  # a click on another campaign's message is not the goal
        quiet.email: "",
        scanned.email: "",  # nor is a link scanner's
    }


def test_a_click_stops_only_a_sequence_that_stops_on_clicks(personas, time_machine):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace)
    sequence_activate(sequence=setup.sequence)
    clicker, *_ = join(setup, 1)
    sequences_advance(now=timezone.now())
    delivery = Delivery.objects.get(email=clicker.email)
    record(Fact(kind=EventKind.CLICKED, source=EventSource.LINK, link_index=0), delivery=delivery)
    type(setup.sequence).objects.filter(pk=setup.sequence.pk).update(stop_on_click=False)
    assert stop_finished(now=timezone.now(), among=Enrollment.objects.all()) == 0
    type(setup.sequence).objects.filter(pk=setup.sequence.pk).update(stop_on_click=True)
    assert stop_finished(now=timezone.now(), among=Enrollment.objects.all()) == 1
    assert _reasons() == {clicker.email: StopReason.GOAL}


def _queries_to_judge(setup, time_machine, count: int, start: int) -> int:
    people = join(setup, count, start=start)
    time_machine.shift(timedelta(minutes=1))  # a list's joiners are looked for every 30 s
    sequences_advance(now=timezone.now())
    for delivery in Delivery.objects.filter(email__in=[p.email for p in people[::2]]):
        record(_fact(EventKind.REPLIED), delivery=delivery)
    among = Enrollment.objects.filter(recipient__in=people)
    with CaptureQueriesContext(connection) as queries:
        stopped = stop_finished(now=timezone.now(), among=among)
    assert stopped == len(people[::2])
    events = [q["sql"] for q in queries.captured_queries if '"tracking_event"' in q["sql"]]
    assert events, "the events were not read"
    for sql in events:  # by a list of addresses, never a probe per person
        assert '"tracking_event"."email" IN (' in sql, sql
        assert "EXISTS" not in sql, sql
    return len(queries)


def test_judging_costs_the_same_few_queries_for_three_people_or_three_hundred(
    personas, time_machine
):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace)
    sequence_activate(sequence=setup.sequence)
    few = _queries_to_judge(setup, time_machine, 3, start=0)
    assert few == _queries_to_judge(setup, time_machine, 300, start=100)


def test_a_pass_stops_who_was_heard_from_lately_before_their_next_step_is_due(
    personas, time_machine
):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace)  # the next step is a day away
    sequence_activate(sequence=setup.sequence)
    replier, quiet = join(setup, 2)
    sequences_advance(now=timezone.now())
    record(_fact(EventKind.REPLIED), delivery=Delivery.objects.get(email=replier.email))
    time_machine.shift(timedelta(minutes=10))
    assert sequences_advance(now=timezone.now()).stopped == 1
    assert _reasons() == {replier.email: StopReason.REPLIED, quiet.email: ""}
