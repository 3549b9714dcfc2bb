"""Reading sequences: each workspace's own only, their steps' figures and who is where."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.utils.translation import ngettext

from accounts.models import Workspace
from automation.models import (
    Enrollment,
    EnrollmentState,
    Sequence,
    SequenceStatus,
    SequenceStep,
    StepCycle,
)
from campaigns.models import CampaignStatus, Delivery, DeliveryStatus
from tracking.models import Event, EventKind

OPEN_STATES = (DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED, DeliveryStatus.SENDING)


def sequences_of(workspace: Workspace) -> QuerySet[Sequence]:
    return Sequence.objects.filter(workspace=workspace).order_by("-created_at", "-id")


def sequence_get(workspace: Workspace, sequence_id: int) -> Sequence | None:
    return (
        Sequence.objects.filter(workspace=workspace, pk=sequence_id)
        .select_related("trigger_list", "date_field")
        .first()
    )


def step_get(workspace: Workspace, sequence_id: int, step_id: int) -> SequenceStep | None:
    return (
        SequenceStep.objects.filter(
            workspace=workspace, sequence_id=sequence_id, pk=step_id, retired_at__isnull=True
        )
        .select_related("sequence", "template")
        .first()
    )


def enrollments_of(workspace: Workspace, sequence: Sequence) -> QuerySet[Enrollment]:
    return (
        Enrollment.objects.filter(workspace=workspace, sequence=sequence)
        .select_related("recipient")
        .order_by("-enrolled_at", "-id")
    )


@dataclass
class StepFigures:
    step: SequenceStep
    waiting: int = 0  # enrolled people whose next step this is
    queued: int = 0  # handed to the engine, not sent yet
    sent: int = 0
    failed: int = 0  # ended without being sent (failed, bounced at once, expired, ...)
    opened: int = 0  # people, machine opens left out
    clicked: int = 0  # people, link scanners left out

    @property
    def held(self) -> bool:
        """Its campaign was paused by the engine (bounces, complaints, policy refusals) while
        the sequence runs: its messages wait until the sequence is paused and activated."""
        campaign = self.step.campaign
        return (
            campaign is not None
            and campaign.status == CampaignStatus.PAUSED
            and self.step.sequence.status == SequenceStatus.ACTIVE
        )

    @property
    def wait(self) -> str:
        return describe_delay(self.step.delay_seconds)


def describe_delay(seconds: int) -> str:
    """The wait in the largest unit that divides it: "2 weeks", "3 days", "90 minutes"."""
    week, day, hour = 7 * 24 * 3600, 24 * 3600, 3600
    if seconds and seconds % week == 0:
        n = seconds // week
        return ngettext("%(n)d week", "%(n)d weeks", n) % {"n": n}
    if seconds and seconds % day == 0:
        n = seconds // day
        return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}
    if seconds and seconds % hour == 0:
        n = seconds // hour
        return ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n}
    n = seconds // 60
    return ngettext("%(n)d minute", "%(n)d minutes", n) % {"n": n}


@dataclass
class SequenceFigures:
    enrolled: int = 0
    active: int = 0
    completed: int = 0
    stopped: dict[str, int] = field(default_factory=dict)  # reason -> people
    steps: list[StepFigures] = field(default_factory=list)


def sequence_figures(sequence: Sequence) -> SequenceFigures:
    """Every figure of the sequence page: a few grouped queries, whatever its size."""
    figures = SequenceFigures()
    states = (
        Enrollment.objects.filter(sequence=sequence)
        .order_by()
        .values_list("state", "stop_reason", "position")
        .annotate(n=Count("pk"))
    )
    waiting: dict[int, int] = {}
    for state, reason, position, n in states:
        figures.enrolled += n
        if state == EnrollmentState.ACTIVE:
            figures.active += n
            waiting[position] = waiting.get(position, 0) + n
        elif state == EnrollmentState.COMPLETED:
            figures.completed += n
        else:
            figures.stopped[reason] = figures.stopped.get(reason, 0) + n
    steps = SequenceStep.objects.filter(sequence=sequence).select_related(
        "template", "campaign", "sequence"
    )
    current = [s for s in steps if s.retired_at is None]
    by_campaign: dict[int | None, int] = {
        s.campaign_id: s.position for s in steps if s.campaign_id is not None
    }
    # Every year's campaigns of an every-year sequence count with their step.
    yearly = StepCycle.objects.filter(step__sequence=sequence).values_list(
        "campaign_id", "step__position"
    )
    by_campaign.update(dict(yearly))
    rows = {s.position: StepFigures(step=s, waiting=waiting.get(s.position, 0)) for s in current}
    _delivery_figures(rows, by_campaign)
    _event_figures(rows, by_campaign)
    figures.steps = [rows[p] for p in sorted(rows)]
    return figures


def _delivery_figures(rows: dict[int, StepFigures], by_campaign: dict[int | None, int]) -> None:
    counts = (
        Delivery.objects.filter(campaign_id__in=[c for c in by_campaign if c is not None])
        .order_by()
        .values_list("campaign_id", "status")
        .annotate(n=Count("pk"))
    )
    for campaign_id, status, n in counts:
        row = rows.get(by_campaign[campaign_id])
        if row is None:
            continue
        if status in OPEN_STATES:
            row.queued += n
        elif status == DeliveryStatus.SENT:
            row.sent += n
        else:
            row.failed += n


def _event_figures(rows: dict[int, StepFigures], by_campaign: dict[int | None, int]) -> None:
    counts = (
        Event.objects.filter(
            campaign_id__in=[c for c in by_campaign if c is not None],
            kind__in=(EventKind.OPENED, EventKind.CLICKED),
            machine=False,
        )
        .order_by()
        .values_list("campaign_id", "kind")
        .annotate(n=Count("email", distinct=True))
    )
    for campaign_id, kind, n in counts:
        row = rows.get(by_campaign[campaign_id])
        if row is None:
            continue
        if kind == EventKind.OPENED:
            row.opened += n
        else:
            row.clicked += n
