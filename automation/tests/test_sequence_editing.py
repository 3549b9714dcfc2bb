"""Editing a running sequence applies to those who have not reached the edited step; the
sending hours hold a step until they open; goals and suppressions stop people."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from accounts.models import Workspace
from audience.models import Suppression, SuppressionReason
from automation.models import Enrollment, EnrollmentState, SequenceStep, StopReason
from automation.sequences.hours import next_opening
from automation.sequences.schedule import sequences_advance
from automation.sequences.services import (
    StepData,
    sequence_activate,
    step_remove,
    step_update,
)
from automation.tests.sequence_setup import DAY, hours, join, make_sequence
from campaigns.models import Delivery
from tracking.events import Fact, record
from tracking.models import EventKind, EventSource

pytestmark = pytest.mark.django_db


def _subjects_of(email: str) -> list[str]:
    rows = Delivery.objects.filter(email=email).order_by("created_at", "pk")
    return [d.campaign.content["subject"] for d in rows]


def test_a_new_template_reaches_only_those_who_had_not_reached_the_step(personas, time_machine):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace, delays=(0, DAY, DAY))
    sequence_activate(sequence=setup.sequence)
    early = join(setup, 1)[0]
    sequences_advance(now=timezone.now())
    time_machine.shift(timedelta(days=1))
    sequences_advance(now=timezone.now())  # the early one has step 2 now
    late = join(setup, 1, start=1)[0]
    sequences_advance(now=timezone.now())  # the late one has step 1
    step = SequenceStep.objects.get(sequence=setup.sequence, position=1, retired_at=None)
    old_campaign = step.campaign
    assert old_campaign is not None
    setup.templates[1].subject = "Step 2, rewritten"
    setup.templates[1].save()
    new_template = setup.templates[1]
    step_update(step=step, data=StepData(template=setup.templates[2], delay_seconds=DAY))
    step = SequenceStep.objects.get(sequence=setup.sequence, position=1, retired_at=None)
    step_update(step=step, data=StepData(template=new_template, delay_seconds=DAY))
    for _ in range(3):
        time_machine.shift(timedelta(days=1))
        sequences_advance(now=timezone.now())
    assert _subjects_of(early.email) == [
        "Step 1 for {first_name}",
        "Step 2 for {first_name}",
        "Step 3 for {first_name}",
    ]
    assert _subjects_of(late.email) == [
        "Step 1 for {first_name}",
        "Step 2, rewritten",
        "Step 3 for {first_name}",
    ]
    old_campaign.refresh_from_db()
    assert old_campaign.content["subject"] == "Step 2 for {first_name}"  # what it sent, kept


def test_a_longer_wait_moves_those_waiting_for_the_step(personas, time_machine):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace, delays=(0, DAY))
    sequence_activate(sequence=setup.sequence)
    join(setup, 2)
    sequences_advance(now=timezone.now())
    step = SequenceStep.objects.get(sequence=setup.sequence, position=1)
    step_update(step=step, data=StepData(template=setup.templates[1], delay_seconds=3 * DAY))
    time_machine.shift(timedelta(days=2))
    sequences_advance(now=timezone.now())
    assert Delivery.objects.count() == 2  # still waiting
    time_machine.shift(timedelta(days=1))
    sequences_advance(now=timezone.now())
    assert Delivery.objects.count() == 4


def test_removing_the_step_someone_waits_for_sends_them_the_next(personas, time_machine):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace, delays=(0, DAY, 2 * DAY))
    sequence_activate(sequence=setup.sequence)
    person = join(setup, 1)[0]
    sequences_advance(now=timezone.now())
    step_remove(step=SequenceStep.objects.get(sequence=setup.sequence, position=1))
    time_machine.shift(timedelta(days=2))
    sequences_advance(now=timezone.now())
    assert _subjects_of(person.email) == ["Step 1 for {first_name}", "Step 3 for {first_name}"]
    enrollment = Enrollment.objects.get()
    assert enrollment.state == EnrollmentState.COMPLETED


def test_a_step_waits_for_its_sending_hours_in_the_workspace_zone(personas, time_machine):
    Workspace.objects.filter(pk=personas.workspace.pk).update(time_zone="Europe/Moscow")
    time_machine.move_to("2026-11-02 20:00:00Z", tick=False)  # 23:00 in Moscow
    setup = make_sequence(personas.workspace, delays=(0,))
    step = SequenceStep.objects.get(sequence=setup.sequence)
    step_update(
        step=step,
        data=StepData(
            template=setup.templates[0],
            delay_seconds=0,
            window_start=time(9, 0),
            window_end=time(17, 0),
        ),
    )
    sequence_activate(sequence=setup.sequence)
    join(setup, 1)
    sequences_advance(now=timezone.now())
    assert Delivery.objects.count() == 0
    enrollment = Enrollment.objects.get()
    assert enrollment.next_step_at is not None
    assert enrollment.next_step_at.isoformat() == "2026-11-03T06:00:00+00:00"  # 09:00 Moscow
    time_machine.move_to("2026-11-03 06:00:00Z", tick=False)
    sequences_advance(now=timezone.now())
    assert Delivery.objects.count() == 1


def test_the_window_may_cross_midnight():
    from zoneinfo import ZoneInfo

    from django.utils.dateparse import parse_datetime

    utc = ZoneInfo("UTC")
    at = parse_datetime("2026-11-02T12:00:00+00:00")
    assert at is not None
    opens = next_opening(at, time(22, 0), time(6, 0), utc)
    assert opens.isoformat() == "2026-11-02T22:00:00+00:00"
    inside = parse_datetime("2026-11-03T05:00:00+00:00")
    assert inside is not None
    assert next_opening(inside, time(22, 0), time(6, 0), utc) == inside


def test_a_click_on_its_message_reaches_the_goal_and_a_suppression_stops(personas, time_machine):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace)
    sequence_activate(sequence=setup.sequence)
    clicker, suppressed, other = join(setup, 3)
    sequences_advance(now=timezone.now())
    delivery = Delivery.objects.get(email=clicker.email)
    record(Fact(kind=EventKind.CLICKED, source=EventSource.LINK, link_index=0), delivery=delivery)
    scanner = Delivery.objects.get(email=other.email)
    record(
        Fact(kind=EventKind.CLICKED, source=EventSource.LINK, link_index=0, machine=True),
        delivery=scanner,
    )
    Suppression.objects.create(
        workspace=personas.workspace, email=suppressed.email, reason=SuppressionReason.MANUAL
    )
    time_machine.shift(hours(25))
    sequences_advance(now=timezone.now())
    reasons = dict(Enrollment.objects.values_list("recipient__email", "stop_reason"))
    assert reasons == {
        clicker.email: StopReason.GOAL,
        suppressed.email: StopReason.SUPPRESSED,
        other.email: "",  # a link scanner's click is no goal
    }
    assert set(
        Delivery.objects.filter(created_at__gt=delivery.created_at).values_list("email", flat=True)
    ) == {other.email}
