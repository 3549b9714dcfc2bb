"""Writing sequences: their settings, their steps, activation, pause, and enrolment.

A step's hidden campaign is made when the sequence is activated (or when a step is added to a
sequence activated before), with the template's content frozen then; changing a step's
template later retires the step row and makes a new one at the same position, so messages
already sent keep their content and their tracked links.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Workspace
from audience.models import CustomField, CustomFieldType, Recipient, RecipientList
from automation.models import (
    Enrollment,
    EnrollmentState,
    Sequence,
    SequenceStatus,
    SequenceStep,
    SequenceTrigger,
    StepCondition,
    StepCycle,
)
from campaigns.frozen_files import copy_frozen_attachments, freeze_attachments
from campaigns.models import (
    WAITING,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    ScheduleMode,
)
from campaigns.services import CampaignError, freeze_content, move_status
from content.models import Template
from content.syntax import ContentError
from sending.models import SendingAccount

# The longest delay a step may have: a year (the form's units go up to weeks).
DELAY_MAX_SECONDS = 366 * 24 * 3600
STEPS_MAX = 50
# How far from its date a date-triggered sequence may start: a year either way.
DATE_OFFSET_MAX_DAYS = 365


class SequenceError(Exception):
    """A refusal with a message fit to show to the user; nothing was changed."""


@dataclass(frozen=True)
class SequenceData:
    name: str
    trigger: str
    trigger_list: RecipientList | None
    accounts: list[SendingAccount]
    stop_on_click: bool = True
    date_field: CustomField | None = None
    date_offset_days: int = 0
    date_every_year: bool = False


@dataclass(frozen=True)
class StepData:
    template: Template
    delay_seconds: int
    window_start: time | None = None
    window_end: time | None = None
    condition: str = StepCondition.ALWAYS


def _check(workspace: Workspace, data: SequenceData) -> None:
    if not data.name.strip():
        raise SequenceError(_("Give the sequence a name."))
    if data.trigger == SequenceTrigger.LIST_JOINED and data.trigger_list is None:
        raise SequenceError(_("Choose the list whose new members start the sequence."))
    if data.trigger_list is not None and data.trigger_list.workspace_id != workspace.pk:
        raise SequenceError(_("Choose the list whose new members start the sequence."))
    if data.trigger == SequenceTrigger.DATE_FIELD and (
        data.date_field is None
        or data.date_field.workspace_id != workspace.pk
        or data.date_field.type != CustomFieldType.DATE
    ):
        raise SequenceError(_("Choose the date field that starts the sequence."))
    if not -DATE_OFFSET_MAX_DAYS <= data.date_offset_days <= DATE_OFFSET_MAX_DAYS:
        raise SequenceError(
            _("Start at most %(days)d days before or after the date.")
            % {"days": DATE_OFFSET_MAX_DAYS}
        )
    if any(account.workspace_id != workspace.pk for account in data.accounts):
        raise SequenceError(_("Choose at least one sending account."))


def _trigger_fields(data: SequenceData) -> dict[str, object]:
    """The trigger's own settings; those of the other triggers are cleared."""
    by_list = data.trigger == SequenceTrigger.LIST_JOINED
    by_date = data.trigger == SequenceTrigger.DATE_FIELD
    return {
        "trigger": data.trigger,
        "trigger_list": data.trigger_list if by_list else None,
        "date_field": data.date_field if by_date else None,
        "date_offset_days": data.date_offset_days if by_date else 0,
        "date_every_year": data.date_every_year if by_date else False,
    }


@transaction.atomic
def sequence_create(*, workspace: Workspace, data: SequenceData) -> Sequence:
    """A new sequence, a draft with no steps. Raises SequenceError on bad input."""
    _check(workspace, data)
    sequence = Sequence.objects.create(
        workspace=workspace,
        name=data.name.strip(),
        stop_on_click=data.stop_on_click,
        **_trigger_fields(data),
    )
    sequence.accounts.set(data.accounts)
    return sequence


@transaction.atomic
def sequence_update(*, sequence: Sequence, data: SequenceData) -> Sequence:
    """Change the settings; the step campaigns send from the new accounts at once."""
    _check(sequence.workspace, data)
    sequence.name = data.name.strip()
    trigger = _trigger_fields(data)
    if any(getattr(sequence, name) != value for name, value in trigger.items()):
        # A new date rule looks at today again (those enrolled already are left out).
        trigger["dates_checked_on"] = None
    for name, value in trigger.items():
        setattr(sequence, name, value)
    sequence.stop_on_click = data.stop_on_click
    sequence.save(update_fields=["name", "stop_on_click", *trigger])
    sequence.accounts.set(data.accounts)
    for campaign in Campaign.objects.filter(pk__in=_campaign_ids(sequence)):
        campaign.accounts.set(data.accounts)
    return sequence


def _campaign_ids(sequence: Sequence) -> list[int]:
    """Every campaign the sequence's steps ever sent with (retired steps' and every year's)."""
    rows = SequenceStep.objects.filter(sequence=sequence, campaign__isnull=False)
    yearly = StepCycle.objects.filter(step__sequence=sequence).values_list("campaign_id", flat=True)
    return [pk for pk in rows.values_list("campaign_id", flat=True) if pk is not None] + list(
        yearly
    )


def current_steps(sequence: Sequence) -> list[SequenceStep]:
    return list(
        SequenceStep.objects.filter(sequence=sequence, retired_at__isnull=True)
        .select_related("template")
        .order_by("position")
    )


def _check_step(sequence: Sequence, data: StepData) -> None:
    if data.template.workspace_id != sequence.workspace_id:
        raise SequenceError(_("Choose a template."))
    if not 0 <= data.delay_seconds <= DELAY_MAX_SECONDS:
        raise SequenceError(_("A step's delay is from 0 minutes to 52 weeks."))
    if (data.window_start is None) != (data.window_end is None) or (
        data.window_start is not None and data.window_start == data.window_end
    ):
        raise SequenceError(_("Give the sending hours as two different times, or neither."))
    if data.condition not in StepCondition.values:
        raise SequenceError(_("Choose whom the step is sent to."))


@transaction.atomic
def step_add(*, sequence: Sequence, data: StepData, now: datetime | None = None) -> SequenceStep:
    """Add a step at the end. On a sequence activated before, its campaign is made now (the
    template must compile). Raises SequenceError."""
    now = now or timezone.now()
    sequence = _locked(sequence)
    _check_step(sequence, data)
    steps = current_steps(sequence)
    if len(steps) >= STEPS_MAX:
        raise SequenceError(_("A sequence has at most %(count)d steps.") % {"count": STEPS_MAX})
    step = SequenceStep.objects.create(
        workspace=sequence.workspace,
        sequence=sequence,
        position=len(steps),
        template=data.template,
        delay_seconds=data.delay_seconds,
        window_start=data.window_start,
        window_end=data.window_end,
        condition=data.condition,
    )
    if sequence.activated_at is not None:
        _make_campaign(sequence, step, now)
    return step


@transaction.atomic
def step_update(*, step: SequenceStep, data: StepData, now: datetime | None = None) -> SequenceStep:
    """Change a step. Only those who have not reached it yet see the change: a new template
    retires the step (what it sent keeps its content); a new delay moves the time of those
    waiting for it. Raises SequenceError."""
    now = now or timezone.now()
    sequence = _locked(step.sequence)
    _check_step(sequence, data)
    if step.campaign_id is not None and data.template.pk != step.template_id:
        step = _replace(sequence, step, now)
    step.template = data.template
    step.delay_seconds = data.delay_seconds
    step.window_start, step.window_end = data.window_start, data.window_end
    step.condition = data.condition
    step.save(
        update_fields=["template", "delay_seconds", "window_start", "window_end", "condition"]
    )
    if sequence.activated_at is not None and step.campaign_id is None:
        _make_campaign(sequence, step, now)
    _reschedule(sequence, step.position)
    return step


def _replace(sequence: Sequence, step: SequenceStep, now: datetime) -> SequenceStep:
    step.retired_at = now
    step.save(update_fields=["retired_at"])
    return SequenceStep.objects.create(
        workspace=sequence.workspace,
        sequence=sequence,
        position=step.position,
        template=step.template,
        delay_seconds=step.delay_seconds,
    )


@transaction.atomic
def step_remove(*, step: SequenceStep, now: datetime | None = None) -> None:
    """Remove a step: those waiting for it go on to the next one (with its delay); those past
    it keep their place among the steps that remain."""
    now = now or timezone.now()
    sequence = _locked(step.sequence)
    removed = step.position
    step.retired_at = now
    step.save(update_fields=["retired_at"])
    for later in SequenceStep.objects.filter(
        sequence=sequence, retired_at__isnull=True, position__gt=removed
    ).order_by("position"):
        later.position -= 1
        later.save(update_fields=["position"])
    Enrollment.objects.filter(sequence=sequence, position__gt=removed).update(
        position=F("position") - 1
    )
    _reschedule(sequence, removed)


@transaction.atomic
def step_move(*, step: SequenceStep, up: bool) -> None:
    """Swap a step with the one before (`up`) or after it. Those waiting for either position
    wait for the step now there, with its delay."""
    sequence = _locked(step.sequence)
    other_position = step.position - 1 if up else step.position + 1
    other = SequenceStep.objects.filter(
        sequence=sequence, retired_at__isnull=True, position=other_position
    ).first()
    if other is None:
        return
    mine = step.position
    step.position = STEPS_MAX + 1  # out of the way of the unique position while swapping
    step.save(update_fields=["position"])
    other.position = mine
    other.save(update_fields=["position"])
    step.position = other_position
    step.save(update_fields=["position"])
    _reschedule(sequence, mine)
    _reschedule(sequence, other_position)


def _reschedule(sequence: Sequence, position: int) -> None:
    """Those waiting for the step at `position`: due at their waiting start plus its delay
    (the sending hours are applied when it is due). Past the last step: nothing to wait for,
    so due now (the scheduler completes them)."""
    step = SequenceStep.objects.filter(
        sequence=sequence, retired_at__isnull=True, position=position
    ).first()
    waiting = Enrollment.objects.filter(
        sequence=sequence, state=EnrollmentState.ACTIVE, position=position
    )
    delay = timedelta(seconds=step.delay_seconds if step else 0)
    for pk, since in waiting.values_list("pk", "waiting_since").iterator():
        Enrollment.objects.filter(pk=pk).update(next_step_at=since + delay)


def _locked(sequence: Sequence) -> Sequence:
    return Sequence.objects.select_for_update().select_related("workspace").get(pk=sequence.pk)


def _hidden_campaign(
    sequence: Sequence, now: datetime, name: str, template_id: int | None
) -> Campaign:
    campaign = Campaign.objects.create(
        workspace=sequence.workspace,
        name=name[:200],
        template_id=template_id,
        schedule_mode=ScheduleMode.NOW,
        status=(
            CampaignStatus.PAUSED
            if sequence.status == SequenceStatus.PAUSED
            else CampaignStatus.RUNNING
        ),
        launched_at=now,
        sequence_step=True,
    )
    campaign.accounts.set(sequence.accounts.all())
    return campaign


def step_cycle_campaign(*, step: SequenceStep, cycle: int, now: datetime) -> int:
    """The id of the campaign `step` sends with to enrollments of `cycle`: its own for cycle
    0, else that year's, made now (with the step campaign's frozen content and a copy of its
    files) when it does not exist; the step row is locked to make it, so two workers make one.
    Raises SequenceError when a frozen file cannot be read (nothing is made then)."""
    if cycle == 0 or step.campaign is None:
        return step.campaign_id or 0
    found = StepCycle.objects.filter(step=step, cycle=cycle).values_list("campaign_id", flat=True)
    if found:
        return found[0]
    # Made once a year per step: only then is the step locked (and looked at again), so the
    # usual pass takes no lock another worker could wait for.
    list(SequenceStep.objects.select_for_update().filter(pk=step.pk).values_list("pk"))
    found = StepCycle.objects.filter(step=step, cycle=cycle).values_list("campaign_id", flat=True)
    if found:
        return found[0]
    sequence = Sequence.objects.select_related("workspace").get(pk=step.sequence_id)
    source = step.campaign
    name = f"{sequence.name} · {step.position + 1} · {cycle}"
    try:
        with transaction.atomic():  # a savepoint: a failure leaves no half-made campaign
            campaign = _hidden_campaign(sequence, now, name, source.template_id)
            content = dict(source.content)
            content["attachments"] = copy_frozen_attachments(
                campaign, source.content.get("attachments", [])
            )
            campaign.content = content
            campaign.save(update_fields=["content"])
            StepCycle.objects.create(
                workspace_id=step.workspace_id, step=step, cycle=cycle, campaign=campaign
            )
    except ContentError as exc:
        raise SequenceError(str(exc)) from exc
    return campaign.pk


def _make_campaign(sequence: Sequence, step: SequenceStep, now: datetime) -> Campaign:
    """The step's hidden campaign, running (paused with its sequence), its content frozen."""
    template = step.template
    if template is None:
        raise SequenceError(_("Choose a template for step %(n)d.") % {"n": step.position + 1})
    campaign = _hidden_campaign(
        sequence, now, f"{sequence.name} · {step.position + 1}", template.pk
    )
    try:
        content = freeze_content(campaign, template)
        content["attachments"] = freeze_attachments(campaign, template)
    except (CampaignError, ContentError) as exc:
        raise SequenceError(str(exc)) from exc
    campaign.content = content
    campaign.save(update_fields=["content"])
    step.campaign = campaign
    step.save(update_fields=["campaign"])
    return campaign


@transaction.atomic
def sequence_activate(*, sequence: Sequence, now: datetime | None = None) -> Sequence:
    """Start (or resume) the sequence: its steps' campaigns are made or resumed, and from now
    its trigger enrols people. Raises SequenceError when it has no step or no account, or a
    template does not compile (nothing changes then)."""
    now = now or timezone.now()
    sequence = _locked(sequence)
    if sequence.status == SequenceStatus.ACTIVE:
        return sequence
    steps = current_steps(sequence)
    if not steps:
        raise SequenceError(_("Add at least one step first."))
    if not sequence.accounts.exists():
        raise SequenceError(_("Choose at least one sending account."))
    sequence.status = SequenceStatus.ACTIVE
    if sequence.activated_at is None:
        sequence.activated_at = now
    sequence.save(update_fields=["status", "activated_at"])
    for step in steps:
        if step.campaign_id is None:
            _make_campaign(sequence, step, now)
    Campaign.objects.filter(pk__in=_campaign_ids(sequence), status=CampaignStatus.PAUSED).update(
        status=CampaignStatus.RUNNING, status_changed_at=now
    )
    return sequence


@transaction.atomic
def sequence_pause(*, sequence: Sequence, now: datetime | None = None) -> Sequence:
    """Pause: no step is scheduled, and the messages already queued wait (their campaigns
    pause) until the sequence is activated again. Nobody is enrolled by its trigger meanwhile
    (list members who join during the pause are enrolled on resume)."""
    now = now or timezone.now()
    sequence = _locked(sequence)
    if sequence.status != SequenceStatus.ACTIVE:
        raise SequenceError(_("Only an active sequence can be paused."))
    sequence.status = SequenceStatus.PAUSED
    sequence.save(update_fields=["status"])
    Campaign.objects.filter(pk__in=_campaign_ids(sequence), status=CampaignStatus.RUNNING).update(
        status=CampaignStatus.PAUSED, status_changed_at=now
    )
    return sequence


@transaction.atomic
def sequence_delete(*, sequence: Sequence, now: datetime | None = None) -> int:
    """Delete the sequence, its steps and everyone's progress. Its step campaigns are kept,
    cancelled: what they sent stays in the history of each recipient and the workspace's
    figures (deliveries, attempts, events); what they had queued and not sent is cancelled
    (returned: how many). Messages being handed to a server finish."""
    now = now or timezone.now()
    sequence = _locked(sequence)
    cancelled = 0
    for campaign in Campaign.objects.select_for_update().filter(pk__in=_campaign_ids(sequence)):
        if campaign.status not in (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED):
            move_status(campaign, "cancel", now)
        cancelled += Delivery.objects.filter(campaign=campaign, status__in=WAITING).update(
            status=DeliveryStatus.CANCELLED, updated_at=now
        )
    sequence.delete()
    return cancelled


def sequence_enrol(
    *, sequence: Sequence, recipients: Iterable[Recipient], now: datetime | None = None
) -> int:
    """Enrol `recipients` (of the sequence's workspace) at the first step; those enrolled
    before are left as they are. Returns how many were new. Raises SequenceError for a draft
    (its steps may still change) or a recipient of another workspace."""
    now = now or timezone.now()
    if not Sequence.objects.filter(pk=sequence.pk, activated_at__isnull=False).exists():
        raise SequenceError(_("Activate the sequence before enrolling people."))
    people = list(recipients)
    if any(person.workspace_id != sequence.workspace_id for person in people):
        raise SequenceError(_("No such recipient."))
    return enrol_ids(sequence, [person.pk for person in people], now)


ENROL_BY_HAND_MAX = 1000


@dataclass(frozen=True)
class Enrolled:
    enrolled: int
    unknown: list[str]


def sequence_enrol_addresses(
    *, sequence: Sequence, addresses: list[str], now: datetime | None = None
) -> Enrolled:
    """Enrol the workspace's recipients with these addresses (any case); addresses that are
    no recipient are returned, not created. Raises SequenceError (see `sequence_enrol`)."""
    wanted = {a.strip().lower() for a in addresses if a.strip()}
    if not wanted:
        raise SequenceError(_("Give at least one address."))
    if len(wanted) > ENROL_BY_HAND_MAX:
        raise SequenceError(
            _("Give at most %(count)d addresses at once.") % {"count": ENROL_BY_HAND_MAX}
        )
    found = list(Recipient.objects.filter(workspace_id=sequence.workspace_id, email__in=wanted))
    known = {r.email.lower() for r in found}
    enrolled = sequence_enrol(sequence=sequence, recipients=found, now=now)
    return Enrolled(enrolled=enrolled, unknown=sorted(wanted - known))


def enrol_ids(sequence: Sequence, recipient_ids: list[int], now: datetime, cycle: int = 0) -> int:
    """Insert the enrollments of `cycle` (ON CONFLICT DO NOTHING); the count of those that
    were new."""
    first = SequenceStep.objects.filter(
        sequence=sequence, retired_at__isnull=True, position=0
    ).first()
    due = now + timedelta(seconds=first.delay_seconds if first else 0)
    before = Enrollment.objects.filter(sequence=sequence).count()
    Enrollment.objects.bulk_create(
        (
            Enrollment(
                workspace_id=sequence.workspace_id,
                sequence=sequence,
                recipient_id=pk,
                cycle=cycle,
                enrolled_at=now,
                waiting_since=now,
                next_step_at=due,
            )
            for pk in recipient_ids
        ),
        ignore_conflicts=True,
        batch_size=1000,
    )
    return Enrollment.objects.filter(sequence=sequence).count() - before
