"""Several workers scheduling the same sequence at once (PostgreSQL's row locks): each step of
each person is queued once, and every enrollment moves on once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from automation.models import Enrollment, StepCycle
from automation.sequences.schedule import enrol_list_joiners, sequences_advance
from automation.sequences.services import sequence_activate
from automation.tests.sequence_setup import DAY, join, make_sequence
from campaigns.models import Delivery


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent workers need PostgreSQL's row locks"
)
def test_concurrent_passes_queue_each_step_once(personas):
    setup = make_sequence(personas.workspace, delays=(0, DAY))
    sequence_activate(sequence=setup.sequence)
    join(setup, 600)
    now = timezone.now()
    # Enrolled before the workers start, so that all four find due steps: else whoever
    # enrols can schedule them all while the others still see none.
    assert enrol_list_joiners(now=now) == 600
    barrier = threading.Barrier(4)
    scheduled: list[int] = []

    def work() -> None:
        barrier.wait()
        scheduled.append(sequences_advance(now=now, batch=50).scheduled)
        connection.close()

    def round_of_workers() -> None:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    round_of_workers()
    assert Delivery.objects.count() == 600
    assert sum(scheduled) == 600
    assert sum(1 for n in scheduled if n) >= 2  # the work was really shared
    assert set(Enrollment.objects.values_list("position", flat=True)) == {1}
    scheduled.clear()
    now += timedelta(days=1)
    round_of_workers()
    assert Delivery.objects.count() == 1200
    assert sum(scheduled) == 600
    assert set(Enrollment.objects.values_list("state", "position")) == {("completed", 2)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent workers need PostgreSQL's row locks"
)
def test_concurrent_passes_make_one_campaign_per_step_and_year(personas):
    setup = make_sequence(personas.workspace, delays=(0,))
    sequence_activate(sequence=setup.sequence)
    people = join(setup, 400)
    # Enrollments of the year 2026 of an every-year sequence: the year's campaign is made by
    # whichever worker comes first, once.
    Enrollment.objects.filter(recipient__in=people).delete()
    Enrollment.objects.bulk_create(
        Enrollment(
            workspace=personas.workspace,
            sequence=setup.sequence,
            recipient=person,
            cycle=2026,
            next_step_at=timezone.now(),
        )
        for person in people
    )
    now = timezone.now() + timedelta(seconds=1)
    barrier = threading.Barrier(4)
    scheduled: list[int] = []

    def work() -> None:
        barrier.wait()
        scheduled.append(sequences_advance(now=now, batch=50).scheduled)
        connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(scheduled) == 400
    assert StepCycle.objects.count() == 1
    year = StepCycle.objects.get()
    assert Delivery.objects.filter(campaign_id=year.campaign_id).count() == 400
