"""The sequences' worker duty: enrol new list members, stop those who replied, unsubscribed,
bounced, complained or reached the goal, and hand the due steps to the delivery engine.

A due step becomes a queued Delivery of the step's campaign, made in bulk; the engine claims,
sends, retries and tracks it like any other. The delivery is unique per (campaign, recipient),
and the enrollment moves on in the same transaction, so a step is sent once however many
workers run this (on PostgreSQL they skip each other's locked rows).
"""

from __future__ import annotations

import calendar
import time as clock
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import (
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from audience.models import ListMembership, Recipient, RecipientStatus, Suppression
from automation.models import (
    Enrollment,
    EnrollmentState,
    Sequence,
    SequenceStatus,
    SequenceStep,
    SequenceTrigger,
    StepCondition,
    StepCycle,
    StopReason,
)
from automation.sequences.hours import next_opening
from automation.sequences.services import SequenceError, enrol_ids, step_cycle_campaign
from campaigns.models import Delivery
from campaigns.queueing import insert_deliveries
from tracking.models import BounceType, Event, EventKind

# When a step whose year's campaign could not be made is looked at again.
RETRY_LATER = timedelta(hours=1)
# Due enrollments handled in one transaction: a few statements for each batch.
BATCH = 1000
# One pass stops after this long even with more due, so the worker's other duties run.
PASS_SECONDS = 20.0


@dataclass
class Advanced:
    """What one pass did."""

    enrolled: int = 0
    stopped: int = 0
    scheduled: int = 0  # deliveries handed to the engine
    completed: int = 0
    more: bool = False  # still due when the pass ended


def sequences_advance(*, now: datetime, batch: int = BATCH) -> Advanced:
    """One pass over every active sequence: enrol, stop, schedule what is due at `now`.
    Safe to run in several workers at once; each step of each person is sent once.

    Stops are checked for every due enrollment just before its step is queued (so nothing
    goes out after a stop), and, so that the pages show them soon, for the people with a
    reply, bounce, complaint, unsubscribe or click in the last RECENT: a sweep of every
    enrollment on every pass would cost a probe per rule and person."""
    done = Advanced()
    done.enrolled = enrol_list_joiners(now=now) + enrol_date_matches(now=now)
    done.stopped = sum(stop_finished(now=now, among=a) for a in _recently_heard_from(now))
    started = clock.monotonic()
    while True:
        count, completed, full = _advance_batch(now, batch)
        done.scheduled += count
        done.completed += completed
        if not full:
            break
        if clock.monotonic() - started > PASS_SECONDS:
            done.more = True
            break
    return done


# How often a sequence's list is compared with its enrollments: each comparison reads every
# member who joined since the activation.
JOINERS_EVERY = timedelta(seconds=30)


def enrol_list_joiners(*, now: datetime) -> int:
    """Enrol who joined an active sequence's list since it was first activated (each list
    looked at every JOINERS_EVERY at most)."""
    enrolled = 0
    sequences = Sequence.objects.filter(
        Q(joiners_checked_at__isnull=True)
        | Q(joiners_checked_at__lte=now - JOINERS_EVERY)
        | Q(joiners_checked_at__gt=now),  # a clock set back: look again
        status=SequenceStatus.ACTIVE,
        trigger=SequenceTrigger.LIST_JOINED,
        trigger_list__isnull=False,
        activated_at__isnull=False,
    )
    for sequence in sequences:
        Sequence.objects.filter(pk=sequence.pk).update(joiners_checked_at=now)
        known = Enrollment.objects.filter(sequence=sequence, recipient_id=OuterRef("recipient_id"))
        joiners = (
            ListMembership.objects.filter(
                recipient_list_id=sequence.trigger_list_id,
                recipient_list__workspace_id=sequence.workspace_id,
                added_at__gte=sequence.activated_at,
            )
            .exclude(Exists(known))
            .values_list("recipient_id", flat=True)
        )
        ids = list(joiners)
        if ids:
            enrolled += enrol_ids(sequence, ids, now)
    return enrolled


# Days missed while no worker ran that a date-triggered sequence still catches up: later than
# that, a message about a date ("your plan renews in 7 days") is more wrong than none.
MISSED_DAYS_MAX = 3


def enrol_date_matches(*, now: datetime) -> int:
    """Enrol, once a day per active date-triggered sequence (its workspace's local day), the
    active recipients whose date field plus the offset is that day, or one of the days missed
    since the last look (MISSED_DAYS_MAX at most, none before the activation)."""
    enrolled = 0
    sequences = Sequence.objects.filter(
        status=SequenceStatus.ACTIVE,
        trigger=SequenceTrigger.DATE_FIELD,
        date_field__isnull=False,
        activated_at__isnull=False,
    ).select_related("workspace", "date_field")
    for sequence in sequences:
        zone = sequence.workspace.zone
        today = now.astimezone(zone).date()
        checked = sequence.dates_checked_on
        if checked is not None and checked == today:
            continue
        first = max(
            today - timedelta(days=MISSED_DAYS_MAX),
            sequence.activated_at.astimezone(zone).date(),  # type: ignore[union-attr]
            checked + timedelta(days=1) if checked is not None and checked < today else today,
        )
        Sequence.objects.filter(pk=sequence.pk).update(dates_checked_on=today)
        enrolled += _enrol_dates(sequence, first, today, now)
    return enrolled


def _enrol_dates(sequence: Sequence, first: date, last: date, now: datetime) -> int:
    """Enrol for each day from `first` to `last` whoever's date (plus the offset) is that day:
    the date itself for a once-only sequence; for an every-year one its month and day, in
    the year of the date or later, as an enrollment of that year (29 February is kept on
    the 28th in other years)."""
    enrolled = 0
    day = first
    while day <= last:
        target = day - timedelta(days=sequence.date_offset_days)
        cycle = target.year if sequence.date_every_year else 0
        ids = list(_dated(sequence, target).values_list("pk", flat=True))
        if ids:
            enrolled += enrol_ids(sequence, ids, now, cycle=cycle)
        day += timedelta(days=1)
    return enrolled


def _dated(sequence: Sequence, target: date) -> QuerySet[Recipient]:
    """The active recipients whose date matches `target` and who have no enrollment of its
    cycle. Dates are stored as ISO text (audience.fields) and compared as plain text: the
    JSON lookups would read the bounds as JSON."""
    key = sequence.date_field.key  # type: ignore[union-attr]
    people = Recipient.objects.filter(
        workspace_id=sequence.workspace_id, status=RecipientStatus.ACTIVE
    ).annotate(_date=Cast(KT(f"fields__{key}"), output_field=CharField()))
    known = Enrollment.objects.filter(sequence=sequence, recipient_id=OuterRef("pk"))
    if not sequence.date_every_year:
        return people.filter(_date=target.isoformat()).exclude(Exists(known))
    same_day = Q(_date__endswith=f"-{target:%m-%d}")
    if (target.month, target.day) == (2, 28) and not calendar.isleap(target.year):
        same_day |= Q(_date__endswith="-02-29")
    return people.filter(same_day, _date__lte=target.isoformat()).exclude(
        Exists(known.filter(cycle=target.year))
    )


def _of_sequence(sequence: int | OuterRef) -> Q:
    """Rows whose campaign is one of the sequence's: a step's own or a year's (StepCycle)."""
    steps = SequenceStep.objects.filter(Q(sequence_id=sequence), campaign__isnull=False)
    yearly = StepCycle.objects.filter(Q(step__sequence_id=sequence))
    return Q(campaign_id__in=steps.values("campaign_id")) | Q(
        campaign_id__in=yearly.values("campaign_id")
    )


@dataclass(frozen=True)
class _Enrolled:
    """What the stop rules read of one active enrollment."""

    pk: int
    workspace_id: int
    email: str
    enrolled_at: datetime
    recipient_status: str
    sequence_id: int
    stop_on_click: bool


@dataclass(frozen=True)
class _Heard:
    """One stopping event of an address."""

    kind: str
    bounce_type: str
    machine: bool
    campaign_id: int | None
    occurred_at: datetime


# Why an enrollment stops, in the order a reason is given when several apply: each is
# (reason, event kind heard since the enrolment or None, the recipient's status or None).
# Suppression and the goal (a click on one of the sequence's own messages) come after.
STOP_RULES: tuple[tuple[str, str | None, str | None], ...] = (
    (StopReason.REPLIED, EventKind.REPLIED, None),
    (StopReason.COMPLAINED, EventKind.COMPLAINED, None),
    (StopReason.COMPLAINED, None, RecipientStatus.COMPLAINED),
    (StopReason.BOUNCED, EventKind.BOUNCED, None),  # hard bounces only
    (StopReason.BOUNCED, None, RecipientStatus.BOUNCED),
    (StopReason.UNSUBSCRIBED, EventKind.UNSUBSCRIBED, None),
    (StopReason.UNSUBSCRIBED, None, RecipientStatus.UNSUBSCRIBED),
)


def stop_finished(*, now: datetime, among: QuerySet[Enrollment] | None = None) -> int:
    """Stop the active enrollments (of `among`, default all) whose person replied, complained,
    bounced, unsubscribed, is suppressed or clicked; returns how many stopped.

    The people are read in batches, and their events and suppressions with one lookup per
    workspace by address (the (workspace, email, …) indexes), the rules judged here. One
    query with a correlated probe per rule and person left the plan to the planner's
    statistics, and with stale ones it read a workspace's every event for every person."""
    base = Enrollment.objects.all() if among is None else among
    active = list(base.filter(state=EnrollmentState.ACTIVE).values_list("pk", flat=True))
    by_reason: dict[str, list[int]] = defaultdict(list)
    for start in range(0, len(active), BATCH):
        rows = Enrollment.objects.filter(pk__in=active[start : start + BATCH]).values_list(
            "pk",
            "workspace_id",
            "recipient__email",
            "enrolled_at",
            "recipient__status",
            "sequence_id",
            "sequence__stop_on_click",
        )
        _judge([_Enrolled(*row) for row in rows], by_reason)
    stopped = 0
    for reason, ids in by_reason.items():
        for start in range(0, len(ids), BATCH):
            stopped += Enrollment.objects.filter(
                pk__in=ids[start : start + BATCH], state=EnrollmentState.ACTIVE
            ).update(
                state=EnrollmentState.STOPPED,
                stop_reason=reason,
                finished_at=now,
                next_step_at=None,
            )
    return stopped


def _judge(people: list[_Enrolled], by_reason: dict[str, list[int]]) -> None:
    """Add to `by_reason` each of `people` that a stop rule holds for, under its reason."""
    if not people:
        return
    heard: dict[tuple[int, str], list[_Heard]] = defaultdict(list)
    suppressed: set[tuple[int, str]] = set()
    workspaces: dict[int, list[_Enrolled]] = defaultdict(list)
    for person in people:
        workspaces[person.workspace_id].append(person)
    for workspace_id, members in workspaces.items():
        emails = sorted({m.email for m in members})
        events = Event.objects.filter(
            workspace_id=workspace_id,
            email__in=emails,
            kind__in=STOPPING,
            occurred_at__gte=min(m.enrolled_at for m in members),
        ).values_list("email", "kind", "bounce_type", "machine", "campaign_id", "occurred_at")
        for email, kind, bounce_type, machine, campaign_id, occurred_at in events:
            fact = _Heard(kind, bounce_type, machine, campaign_id, occurred_at)
            heard[(workspace_id, email)].append(fact)
        suppressed.update(
            (workspace_id, email)
            for email in Suppression.objects.filter(
                workspace_id=workspace_id, email__in=emails
            ).values_list("email", flat=True)
        )
    goals = _sequence_campaigns({p.sequence_id for p in people if p.stop_on_click})
    for person in people:
        key = (person.workspace_id, person.email)
        since = [e for e in heard.get(key, ()) if e.occurred_at >= person.enrolled_at]
        reason = _first_reason(person, since, key in suppressed, goals)
        if reason is not None:
            by_reason[reason].append(person.pk)


def _first_reason(
    person: _Enrolled, since: list[_Heard], suppressed: bool, goals: dict[int, set[int]]
) -> str | None:
    kinds = {
        e.kind for e in since if e.kind != EventKind.BOUNCED or e.bounce_type == BounceType.HARD
    }
    for reason, kind, status in STOP_RULES:
        if (kind is not None and kind in kinds) or person.recipient_status == status:
            return reason
    if suppressed:
        return StopReason.SUPPRESSED
    own = goals.get(person.sequence_id, set()) if person.stop_on_click else set()
    if any(e.kind == EventKind.CLICKED and not e.machine and e.campaign_id in own for e in since):
        return StopReason.GOAL
    return None


def _sequence_campaigns(sequence_ids: set[int]) -> dict[int, set[int]]:
    """Each sequence's campaigns: its steps' own and their years' (StepCycle)."""
    found: dict[int, set[int]] = defaultdict(set)
    if not sequence_ids:
        return found
    steps = SequenceStep.objects.filter(sequence_id__in=sequence_ids, campaign__isnull=False)
    for sequence_id, campaign_id in steps.values_list("sequence_id", "campaign_id"):
        found[sequence_id].add(campaign_id)
    yearly = StepCycle.objects.filter(step__sequence_id__in=sequence_ids)
    for sequence_id, campaign_id in yearly.values_list("step__sequence_id", "campaign_id"):
        found[sequence_id].add(campaign_id)
    return found


# How far back the pass looks for events that stop people before their next step is due.
RECENT = timedelta(hours=1)
STOPPING = (
    EventKind.REPLIED,
    EventKind.COMPLAINED,
    EventKind.BOUNCED,
    EventKind.UNSUBSCRIBED,
    EventKind.CLICKED,
)


def _recently_heard_from(now: datetime) -> Iterator[QuerySet[Enrollment]]:
    """Active enrollments of people with a stopping event in the last RECENT, at most BATCH
    people at a time: the addresses from the events' (workspace, occurred_at) index, their
    recipients from the (workspace, email) key, the enrollments by recipient. Each is a
    lookup by key, so a pass costs the same beside a thousand enrollments or a million,
    whatever the planner's statistics say."""
    workspaces = set(
        Sequence.objects.exclude(status=SequenceStatus.DRAFT).values_list("workspace_id", flat=True)
    )
    for workspace_id in workspaces:
        emails = sorted(
            set(
                Event.objects.filter(
                    workspace_id=workspace_id, occurred_at__gte=now - RECENT, kind__in=STOPPING
                ).values_list("email", flat=True)
            )
        )
        for start in range(0, len(emails), BATCH):
            people = Recipient.objects.filter(
                workspace_id=workspace_id, email__in=emails[start : start + BATCH]
            ).values_list("pk", flat=True)
            yield Enrollment.objects.filter(
                recipient_id__in=list(people), state=EnrollmentState.ACTIVE
            )


def _due(now: datetime, batch: int) -> list[tuple[int, int, int, int, str, int, int]]:
    """Lock up to `batch` due enrollments of active sequences (skipping those another worker
    holds); (id, sequence, position, recipient, email, workspace, cycle) each."""
    qs = Enrollment.objects.filter(
        state=EnrollmentState.ACTIVE,
        next_step_at__lte=now,
        sequence__status=SequenceStatus.ACTIVE,
    ).order_by("next_step_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return list(
        qs.values_list(
            "pk",
            "sequence_id",
            "position",
            "recipient_id",
            "recipient__email",
            "workspace_id",
            "cycle",
        )[:batch]
    )


@transaction.atomic
def _advance_batch(now: datetime, batch: int) -> tuple[int, int, bool]:
    """Schedule one batch of due steps; (deliveries made, enrollments completed, full)."""
    rows = _due(now, batch)
    groups: dict[tuple[int, int, int], list[tuple[int, int, str, int]]] = defaultdict(list)
    for pk, sequence_id, position, recipient_id, email, workspace_id, cycle in rows:
        groups[(sequence_id, position, cycle)].append((pk, recipient_id, email, workspace_id))
    if rows:  # the last word before sending: whoever stopped meanwhile gets nothing more
        stop_finished(now=now, among=Enrollment.objects.filter(pk__in=[r[0] for r in rows]))
        going = set(
            Enrollment.objects.filter(
                pk__in=[r[0] for r in rows], state=EnrollmentState.ACTIVE
            ).values_list("pk", flat=True)
        )
        for key in list(groups):
            groups[key] = [m for m in groups[key] if m[0] in going]
    made = completed = 0
    for (sequence_id, position, cycle), members in groups.items():
        if not members:
            continue
        steps = {
            s.position: s
            for s in SequenceStep.objects.filter(
                sequence_id=sequence_id,
                retired_at__isnull=True,
                position__in=(position, position + 1),
            ).select_related("workspace")
        }
        step = steps.get(position)
        ids = [m[0] for m in members]
        if step is None or step.campaign_id is None:  # past the last step (steps removed)
            completed += _complete(ids, now)
            continue
        opens = next_opening(now, step.window_start, step.window_end, step.workspace.zone)
        if opens > now:  # outside its sending hours: due when they open
            Enrollment.objects.filter(pk__in=ids).update(next_step_at=opens)
            continue
        try:
            campaign_id = step_cycle_campaign(step=step, cycle=cycle, now=now)
        except SequenceError:  # a frozen file has gone: nothing to send yet, look again later
            Enrollment.objects.filter(pk__in=ids).update(next_step_at=now + RETRY_LATER)
            continue
        # Who does not meet the step's condition skips it: moved on below like the others,
        # with no delivery made.
        made += _queue(campaign_id, _qualifying(step, members), now)
        following = steps.get(position + 1)
        if following is None:
            completed += _complete(ids, now, moved=True)
        else:
            Enrollment.objects.filter(pk__in=ids).update(
                position=F("position") + 1,
                waiting_since=now,
                next_step_at=now + timedelta(seconds=following.delay_seconds),
            )
    return made, completed, len(rows) == batch


def _qualifying(
    step: SequenceStep, members: list[tuple[int, int, str, int]]
) -> list[tuple[int, int, str, int]]:
    """The members who meet the step's condition, judged by the events of their last
    delivery of this sequence since their enrolment (any step's: the previous step may have
    been skipped). Opens and clicks by programs (privacy proxies, link scanners) do not
    count. Nobody sent anything yet has opened and clicked nothing."""
    if step.condition == StepCondition.ALWAYS:
        return members
    wanted = step.condition in (StepCondition.OPENED, StepCondition.CLICKED)
    kind = (
        EventKind.OPENED
        if step.condition in (StepCondition.OPENED, StepCondition.NOT_OPENED)
        else EventKind.CLICKED
    )
    last = (
        Delivery.objects.filter(
            _of_sequence(step.sequence_id),
            recipient_id=OuterRef("recipient_id"),
            created_at__gte=OuterRef("enrolled_at"),
        )
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    did = Event.objects.filter(delivery_id=OuterRef("_last"), kind=kind, machine=False)
    meeting = set(
        Enrollment.objects.filter(pk__in=[m[0] for m in members])
        .annotate(_last=Subquery(last))
        .filter(Exists(did) if wanted else ~Exists(did))
        .values_list("pk", flat=True)
    )
    return [m for m in members if m[0] in meeting]


def _queue(campaign_id: int, members: list[tuple[int, int, str, int]], now: datetime) -> int:
    """The step's deliveries, queued for the engine with one INSERT … SELECT from the
    enrollments, as a campaign's launch does; returns how many were made."""
    if not members:
        return 0
    return insert_deliveries(
        Enrollment.objects.filter(pk__in=[m[0] for m in members]),
        workspace="workspace_id",
        recipient="recipient_id",
        email="recipient__email",
        campaign_id=campaign_id,
        now=now,
        created=True,
    )


def _complete(ids: list[int], now: datetime, *, moved: bool = False) -> int:
    return Enrollment.objects.filter(pk__in=ids).update(
        state=EnrollmentState.COMPLETED,
        finished_at=now,
        next_step_at=None,
        **({"position": F("position") + 1} if moved else {}),
    )


def run_sequence_step() -> bool:
    """The worker's duty: one pass; True while more is due (the worker comes back at once)."""
    return sequences_advance(now=timezone.now()).more
