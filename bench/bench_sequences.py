"""How many sequence steps per second the scheduler hands to the engine.

N people (default 50,000) are enrolled in a three-step sequence; the clock is then moved to
each step's time and one scheduling pass (`sequences_advance`) queues every due step as a
delivery of its step campaign and moves the enrollments on. The figure is deliveries queued
per second of wall time, per step; sending them is the engine's (make bench-send).

    .venv/bin/python bench/bench_sequences.py                 # SQLite under var/bench/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postroom_bench_seq \
        .venv/bin/python bench/bench_sequences.py --people 100000

Last line: RESULT people=… steps_per_s=… step1_s=… step2_s=… step3_s=… db=…
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_database import prepare_database  # noqa: E402 -- beside this script

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")

DAY = 24 * 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    args = parser.parse_args()
    db = prepare_database("bench_sequences", drop_postgres=True, drop_sqlite=True)
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", "--noinput", verbosity=0)

    from accounts.models import Workspace
    from audience.models import Recipient
    from automation.models import SequenceTrigger
    from automation.sequences.schedule import sequences_advance
    from automation.sequences.services import (
        SequenceData,
        StepData,
        enrol_ids,
        sequence_activate,
        sequence_create,
        step_add,
    )
    from content.models import Template
    from sending.models import AccountKind, SendingAccount

    workspace = Workspace.objects.create(name="Bench sequences")
    account = SendingAccount.objects.create(
        workspace=workspace,
        name="Capture",
        kind=AccountKind.CAPTURE,
        from_email="bench@example.com",
        status="active",
    )
    sequence = sequence_create(
        workspace=workspace,
        data=SequenceData(
            name="Bench", trigger=SequenceTrigger.API, trigger_list=None, accounts=[account]
        ),
    )
    for n, delay in enumerate((0, DAY, 3 * DAY), start=1):
        template = Template.objects.create(
            workspace=workspace,
            name=f"Step {n}",
            subject=f"Step {n}",
            text_body="Hello {first_name}",
        )
        step_add(sequence=sequence, data=StepData(template=template, delay_seconds=delay))
    sequence_activate(sequence=sequence)
    people = Recipient.objects.bulk_create(
        (Recipient(workspace=workspace, email=f"p{i}@example.test") for i in range(args.people)),
        batch_size=5000,
    )
    start = timezone.now()
    enrolled_at = time.perf_counter()
    enrol_ids(sequence, [p.pk for p in people], start)
    enrol_s = time.perf_counter() - enrolled_at
    print(f"enrolled {args.people} people in {enrol_s:.2f} s")
    seconds = []
    for step, at in enumerate((start, start + timedelta(days=1), start + timedelta(days=4)), 1):
        began = time.perf_counter()
        done = sequences_advance(now=at + timedelta(minutes=1))
        took = time.perf_counter() - began
        seconds.append(took)
        assert done.scheduled == args.people, done
        per_second = done.scheduled / took
        print(f"step {step}: {done.scheduled} queued in {took:.2f} s ({per_second:,.0f}/s)")
    rate = 3 * args.people / sum(seconds)
    print(f"{rate:,.0f} steps scheduled per second ({db})")
    print(
        f"RESULT people={args.people} steps_per_s={rate:.0f} step1_s={seconds[0]:.2f} "
        f"step2_s={seconds[1]:.2f} step3_s={seconds[2]:.2f} db={db}"
    )


if __name__ == "__main__":
    main()
