"""A sequence sends through the real engine and the SMTP sink, with a movable clock: each step
once, at its time, and nothing after the person replied, unsubscribed or bounced."""

from __future__ import annotations

from datetime import timedelta

import pytest

from automation.models import Enrollment, EnrollmentState, StopReason
from automation.sequences.schedule import sequences_advance
from automation.sequences.services import sequence_activate, sequence_pause
from automation.tests.sequence_setup import DAY, hours, join, make_sequence
from campaigns.engine.step import Engine
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaigns_finish_done
from campaigns.tests.conftest import apply_engine_settings
from tracking.events import Fact, record
from tracking.models import BounceType, EventKind, EventSource
from tracking.services import unsubscribe

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _engine_settings(settings):
    apply_engine_settings(settings)


def run(engine: Engine) -> None:
    """One worker round: the sequences' duty, then the engine until the queue is empty."""
    sequences_advance(now=_now())
    while engine.step():
        pass


def _now():
    from django.utils import timezone

    return timezone.now()


def subjects(sink) -> list[str]:
    return sorted(m.subject for m in sink.messages)


def test_three_steps_each_sent_once_at_its_time(personas, smtp_sink, time_machine):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace, smtp_sink)
    sequence_activate(sequence=setup.sequence)
    join(setup, 2)
    engine = Engine(batch_size=50)
    run(engine)
    assert subjects(smtp_sink) == ["Step 1 for Name0", "Step 1 for Name1"]
    time_machine.shift(hours(23))
    run(engine)
    assert len(smtp_sink.messages) == 2  # step 2 waits a whole day
    time_machine.shift(hours(1))
    run(engine)
    run(engine)  # a second pass sends nothing twice
    assert len(smtp_sink.messages) == 4
    time_machine.shift(timedelta(days=2))
    run(engine)
    assert len(smtp_sink.messages) == 6
    assert subjects(smtp_sink)[-2:] == ["Step 3 for Name0", "Step 3 for Name1"]
    states = set(Enrollment.objects.values_list("state", "position"))
    assert states == {(EnrollmentState.COMPLETED, 3)}
    # The step campaigns run on: a recipient may reach them any time.
    campaigns_finish_done(now=_now())
    steps = Campaign.objects.filter(sequence_step=True)
    assert set(steps.values_list("status", flat=True)) == {CampaignStatus.RUNNING}
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 6


def test_a_step_expires_from_its_own_making_not_the_activation(personas, smtp_sink, time_machine):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace, smtp_sink, delays=(0, 10 * DAY))
    sequence_activate(sequence=setup.sequence)
    join(setup, 1)
    engine = Engine(batch_size=50)
    run(engine)
    time_machine.shift(timedelta(days=10))  # long past the campaigns' 3-day lifetime
    run(engine)
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 2
    assert len(smtp_sink.messages) == 2


def test_reply_unsubscribe_and_bounce_stop_the_sequence(personas, smtp_sink, time_machine):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace, smtp_sink)
    sequence_activate(sequence=setup.sequence)
    people = join(setup, 4)
    engine = Engine(batch_size=50)
    run(engine)
    assert len(smtp_sink.messages) == 4
    first = {d.email: d for d in Delivery.objects.all()}
    replier, leaver, bouncer = (first[p.email] for p in people[:3])
    record(Fact(kind=EventKind.REPLIED, source=EventSource.MAILBOX), delivery=replier)
    unsubscribe(delivery=leaver)
    record(
        Fact(kind=EventKind.BOUNCED, source=EventSource.MAILBOX, bounce_type=BounceType.HARD),
        delivery=bouncer,
    )
    time_machine.shift(timedelta(days=4))
    run(engine)
    run(engine)
    late = [m for m in smtp_sink.messages if not m.subject.startswith("Step 1")]
    assert {m.rcpt_tos[0] for m in late} == {people[3].email}
    reasons = dict(Enrollment.objects.values_list("recipient__email", "stop_reason"))
    assert reasons == {
        replier.email: StopReason.REPLIED,
        leaver.email: StopReason.UNSUBSCRIBED,
        bouncer.email: StopReason.BOUNCED,
        people[3].email: "",
    }


def test_pausing_holds_the_sends_and_resuming_sends_them(personas, smtp_sink, time_machine):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace, smtp_sink, delays=(hours(1).seconds, DAY))
    sequence_activate(sequence=setup.sequence)
    join(setup, 3)
    engine = Engine(batch_size=50)
    run(engine)
    sequence_pause(sequence=setup.sequence)
    time_machine.shift(hours(3))
    run(engine)
    assert smtp_sink.messages == []
    assert Enrollment.objects.filter(position=0).count() == 3
    sequence_activate(sequence=setup.sequence)
    run(engine)
    assert len(smtp_sink.messages) == 3
