"""A date custom field starts a sequence, and a step may go only to who opened or did not open
the previous message: the real engine, the SMTP sink and a movable clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audience.models import CustomField, CustomFieldType, Recipient, RecipientStatus
from automation.models import Enrollment, EnrollmentState, SequenceTrigger, StepCondition
from automation.sequences.schedule import sequences_advance
from automation.sequences.services import (
    SequenceData,
    SequenceError,
    StepData,
    sequence_activate,
    sequence_update,
    step_update,
)
from automation.tests.sequence_setup import DAY, join, make_sequence
from campaigns.engine.step import Engine
from campaigns.models import Delivery
from campaigns.tests.conftest import apply_engine_settings
from tracking.events import Fact, record
from tracking.models import EventKind, EventSource

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _engine_settings(settings):
    apply_engine_settings(settings)


def run(engine: Engine) -> None:
    sequences_advance(now=timezone.now())
    while engine.step():
        pass


def received(sink) -> list[tuple[str, str]]:
    return sorted((m.rcpt_tos[0], m.subject.split(" for ")[0]) for m in sink.messages)


def _date_sequence(workspace, sink, offset: int, delays=(0,), every_year=False):
    """A sequence started by the date field `renews_on`, `offset` days from it."""
    setup = make_sequence(workspace, sink, delays=delays)
    field = CustomField.objects.create(
        workspace=workspace, key="renews_on", label="Renews on", type=CustomFieldType.DATE
    )
    sequence_update(
        sequence=setup.sequence,
        data=SequenceData(
            name="Renewal",
            trigger=SequenceTrigger.DATE_FIELD,
            trigger_list=None,
            accounts=[setup.account],
            date_field=field,
            date_offset_days=offset,
            date_every_year=every_year,
        ),
    )
    return setup


def _person(workspace, name: str, renews_on: str | None, **extra) -> Recipient:
    fields = {"renews_on": renews_on} if renews_on else {}
    return Recipient.objects.create(
        workspace=workspace, email=f"{name}@example.test", first_name=name, fields=fields, **extra
    )


def test_a_date_field_enrols_each_person_a_week_before_in_the_workspace_day(
    personas, smtp_sink, time_machine
):
    workspace = personas.workspace
    workspace.time_zone = "Europe/Moscow"  # UTC+3: 22:00 UTC is already the next day there
    workspace.save(update_fields=["time_zone"])
    time_machine.move_to("2026-11-01 22:00:00Z", tick=False)  # 2 November in Moscow
    setup = _date_sequence(workspace, smtp_sink, offset=-7)
    _person(workspace, "due", "2026-11-09")
    _person(workspace, "tomorrow", "2026-11-10")
    _person(workspace, "gone", "2026-11-09", status=RecipientStatus.UNSUBSCRIBED)
    _person(workspace, "undated", None)
    sequence_activate(sequence=setup.sequence)
    engine = Engine(batch_size=50)
    run(engine)
    assert received(smtp_sink) == [("due@example.test", "Step 1")]
    time_machine.shift(timedelta(hours=21, minutes=30))  # 22:30 in Moscow (UTC's next day)
    run(engine)
    assert len(smtp_sink.messages) == 1
    time_machine.shift(timedelta(hours=2))  # 3 November, 00:30 in Moscow
    run(engine)
    assert received(smtp_sink) == [
        ("due@example.test", "Step 1"),
        ("tomorrow@example.test", "Step 1"),
    ]
    # A date moved so that it matches again does not enrol the person a second time.
    Recipient.objects.filter(email="due@example.test").update(fields={"renews_on": "2026-11-11"})
    time_machine.shift(timedelta(days=1))
    run(engine)
    assert len(smtp_sink.messages) == 2
    assert Enrollment.objects.filter(state=EnrollmentState.COMPLETED).count() == 2
    assert Delivery.objects.count() == 2


def test_days_missed_while_no_worker_ran_are_caught_up_a_few_at_most(
    personas, smtp_sink, time_machine
):
    workspace = personas.workspace
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = _date_sequence(workspace, smtp_sink, offset=0)
    sequence_activate(sequence=setup.sequence)
    engine = Engine(batch_size=50)
    run(engine)  # 2 November looked at
    for day in range(3, 10):
        _person(workspace, f"nov{day}", f"2026-11-{day:02d}")
    time_machine.move_to("2026-11-09 09:00:00Z", tick=False)  # no worker from the 3rd to the 8th
    run(engine)
    # The 6th, 7th and 8th (three missed days) and today; the older dates are left out.
    assert [r for r, _ in received(smtp_sink)] == [
        "nov6@example.test",
        "nov7@example.test",
        "nov8@example.test",
        "nov9@example.test",
    ]


def test_an_every_year_date_enrols_again_each_year_and_each_step_goes_once_a_year(
    personas, smtp_sink, time_machine
):
    workspace = personas.workspace
    time_machine.move_to("2026-12-20 09:00:00Z", tick=False)
    setup = _date_sequence(workspace, smtp_sink, offset=0, delays=(0, 30 * DAY), every_year=True)
    _person(workspace, "winter", "1990-12-20")
    _person(workspace, "leap", "2000-02-29")
    _person(workspace, "later", "2027-12-20")  # no anniversary before the date itself
    sequence_activate(sequence=setup.sequence)
    engine = Engine(batch_size=50)
    run(engine)
    assert received(smtp_sink) == [("winter@example.test", "Step 1")]
    time_machine.move_to("2027-01-19 09:00:00Z", tick=False)  # step 2 in the next year
    run(engine)
    time_machine.move_to("2027-02-28 09:00:00Z", tick=False)  # no 29 February in 2027
    run(engine)
    time_machine.move_to("2027-12-20 09:00:00Z", tick=False)
    run(engine)
    run(engine)
    by_person: dict[str, list[str]] = {}
    for email, subject in received(smtp_sink):
        by_person.setdefault(email.split("@")[0], []).append(subject)
    assert by_person == {
        "winter": ["Step 1", "Step 1", "Step 2"],
        "leap": ["Step 1", "Step 2"],
        "later": ["Step 1"],
    }
    cycles = sorted(Enrollment.objects.values_list("recipient__first_name", "cycle"))
    assert cycles == [("later", 2027), ("leap", 2027), ("winter", 2026), ("winter", 2027)]
    # Each year's message of a step went through a campaign of that year.
    winter = Delivery.objects.filter(email="winter@example.test")
    assert winter.count() == 3
    assert winter.values("campaign_id").distinct().count() == 3


def test_a_date_trigger_needs_a_date_field_of_the_workspace(personas, smtp_sink):
    setup = make_sequence(personas.workspace, smtp_sink, delays=(0,))
    text = CustomField.objects.create(
        workspace=personas.workspace, key="plan", label="Plan", type=CustomFieldType.TEXT
    )
    for field in (None, text):
        with pytest.raises(SequenceError):
            sequence_update(
                sequence=setup.sequence,
                data=SequenceData(
                    name="Renewal",
                    trigger=SequenceTrigger.DATE_FIELD,
                    trigger_list=None,
                    accounts=[setup.account],
                    date_field=field,
                ),
            )
    setup.sequence.refresh_from_db()
    assert setup.sequence.trigger == SequenceTrigger.LIST_JOINED


def _open(email: str, *, machine: bool = False) -> None:
    delivery = Delivery.objects.filter(email=email).order_by("-created_at", "-id").first()
    record(
        Fact(kind=EventKind.OPENED, source=EventSource.LINK, machine=machine),
        delivery=delivery,
    )


def test_steps_go_only_to_who_opened_or_did_not_open_the_previous_message(
    personas, smtp_sink, time_machine
):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace, smtp_sink)
    steps = list(setup.sequence.steps.order_by("position"))
    for n, condition in ((1, StepCondition.OPENED), (2, StepCondition.NOT_OPENED)):
        step_update(
            step=steps[n],
            data=StepData(
                template=setup.templates[n],
                delay_seconds=steps[n].delay_seconds,
                condition=condition,
            ),
        )
    sequence_activate(sequence=setup.sequence)
    reader, proxied, silent = (p.email for p in join(setup, 3))
    engine = Engine(batch_size=50)
    run(engine)
    assert len(smtp_sink.messages) == 3
    _open(reader)
    _open(proxied, machine=True)  # a privacy proxy's open is no person's
    time_machine.shift(timedelta(days=1))
    run(engine)
    assert [(r, s) for r, s in received(smtp_sink) if s == "Step 2"] == [(reader, "Step 2")]
    # Step 3 is judged by each person's last message: step 2's for the reader, who opens it.
    _open(reader)
    time_machine.shift(timedelta(days=2))
    run(engine)
    assert [(r, s) for r, s in received(smtp_sink) if s == "Step 3"] == [
        (proxied, "Step 3"),
        (silent, "Step 3"),
    ]
    assert set(Enrollment.objects.values_list("state", "position")) == {
        (EnrollmentState.COMPLETED, 3)
    }
    run(engine)
    assert len(smtp_sink.messages) == 6


def test_skipping_a_step_keeps_the_next_steps_delay_from_the_skip(
    personas, smtp_sink, time_machine
):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace, smtp_sink, delays=(0, DAY, DAY))
    step = setup.sequence.steps.get(position=1)
    step_update(
        step=step,
        data=StepData(
            template=setup.templates[1], delay_seconds=DAY, condition=StepCondition.OPENED
        ),
    )
    sequence_activate(sequence=setup.sequence)
    join(setup, 1)
    engine = Engine(batch_size=50)
    run(engine)
    time_machine.shift(timedelta(days=1))
    run(engine)  # step 2 skipped (nothing opened): step 3 due a day later
    assert len(smtp_sink.messages) == 1
    enrollment = Enrollment.objects.get()
    assert enrollment.position == 2
    assert enrollment.next_step_at == timezone.now() + timedelta(days=1)
    time_machine.shift(timedelta(days=1))
    run(engine)
    assert [s for _, s in received(smtp_sink)] == ["Step 1", "Step 3"]


def test_a_changed_date_rule_looks_at_today_again(personas, smtp_sink, time_machine):
    workspace = personas.workspace
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = _date_sequence(workspace, smtp_sink, offset=0)
    _person(workspace, "today", "2026-11-02")
    _person(workspace, "in_a_week", "2026-11-09")
    sequence_activate(sequence=setup.sequence)
    engine = Engine(batch_size=50)
    run(engine)
    assert [r for r, _ in received(smtp_sink)] == ["today@example.test"]
    sequence_update(
        sequence=setup.sequence,
        data=SequenceData(
            name="Renewal",
            trigger=SequenceTrigger.DATE_FIELD,
            trigger_list=None,
            accounts=[setup.account],
            date_field=setup.sequence.date_field,
            date_offset_days=-7,
        ),
    )
    run(engine)
    assert [r for r, _ in received(smtp_sink)] == ["in_a_week@example.test", "today@example.test"]
