"""Automated sequences (drip): a trigger, then ordered steps, each a template sent after a
delay. Each recipient's progress is an Enrollment row, so it survives restarts.

A step sends through a hidden campaign of its own (`Campaign.sequence_step`): the scheduler
(automation.sequences.schedule) adds a Delivery to it when a recipient reaches the step, and
the delivery engine does the rest (quotas, retries, tracking) as for any campaign.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import Workspace
from audience.models import CustomField, Recipient, RecipientList
from campaigns.models import Campaign
from content.models import Template
from sending.models import SendingAccount


class SequenceTrigger(models.TextChoices):
    # Marked for the catalog; pages translate them where they show them.
    LIST_JOINED = "list_joined", gettext_noop("Joins a list")
    API = "api", gettext_noop("Enrolled by hand or by the API")
    DATE_FIELD = "date_field", gettext_noop("A date in a custom field")


class StepCondition(models.TextChoices):
    """Whom a step is sent to, judged by the person's last message of the sequence (the
    previous step's, or an earlier one when that was skipped) when the step falls due. Who
    does not qualify skips the step and goes on to the next one.

    No "replied" condition: a reply stops the sequence (StopReason.REPLIED) before any later
    step falls due, so it could never hold."""

    ALWAYS = "", gettext_noop("Everyone")
    OPENED = "opened", gettext_noop("Only who opened the previous message")
    CLICKED = "clicked", gettext_noop("Only who clicked a link in the previous message")
    NOT_OPENED = "not_opened", gettext_noop("Only who did not open the previous message")
    NOT_CLICKED = "not_clicked", gettext_noop("Only who did not click the previous message")


class SequenceStatus(models.TextChoices):
    DRAFT = "draft", gettext_noop("Draft")
    ACTIVE = "active", gettext_noop("Active")
    PAUSED = "paused", gettext_noop("Paused")


class EnrollmentState(models.TextChoices):
    ACTIVE = "active", gettext_noop("In progress")
    COMPLETED = "completed", gettext_noop("Completed")
    STOPPED = "stopped", gettext_noop("Stopped")


class StopReason(models.TextChoices):
    """Why an enrollment stopped: a code, shown in the reader's language."""

    REPLIED = "replied", gettext_noop("Replied")
    GOAL = "goal", gettext_noop("Reached the goal (clicked a link)")
    UNSUBSCRIBED = "unsubscribed", gettext_noop("Unsubscribed")
    BOUNCED = "bounced", gettext_noop("Bounced")
    COMPLAINED = "complained", gettext_noop("Complained")
    SUPPRESSED = "suppressed", gettext_noop("On the suppression list")


class Sequence(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    trigger = models.CharField(
        max_length=16, choices=SequenceTrigger.choices, default=SequenceTrigger.LIST_JOINED
    )
    # The list whose new members are enrolled (trigger LIST_JOINED): those who join it after
    # the sequence was first activated, not those who were in it already.
    trigger_list = models.ForeignKey(
        RecipientList, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A date custom field (trigger DATE_FIELD): whoever's date plus `date_offset_days` is today
    # is enrolled (0 on the day, -7 a week before, 1 the day after): once per person (a
    # renewal, a trial's end), or with `date_every_year` each year on the date's month and day
    # (a birthday, an anniversary), each year being an enrollment of its own (`cycle`).
    date_field = models.ForeignKey(
        CustomField, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    date_offset_days = models.SmallIntegerField(default=0)
    date_every_year = models.BooleanField(default=False)
    # The last day (the workspace's local date) whose dates were enrolled: a day is looked at
    # once, and days missed while no worker ran are caught up (a few at most).
    dates_checked_on = models.DateField(null=True, blank=True, editable=False)
    accounts = models.ManyToManyField(SendingAccount, blank=True, related_name="+")
    # The goal: a click on a link of one of the sequence's messages ends it for that person.
    stop_on_click = models.BooleanField(default=True)
    status = models.CharField(
        max_length=16, choices=SequenceStatus.choices, default=SequenceStatus.DRAFT
    )
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When its list was last compared with its enrollments (automation.sequences.schedule):
    # that reads every member who joined since the activation, so it is done now and then.
    joiners_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.name


class SequenceStep(models.Model):
    """One step: `template` sent `delay_seconds` after the previous step (or the enrolment),
    and, with a window, only between `window_start` and `window_end` of the workspace's day.

    Changing a step's template retires the row (`retired_at`) and makes a new one at the same
    position with a new campaign: messages already sent keep their own content and links.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()  # 0 is the first step
    template = models.ForeignKey(
        Template, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delay_seconds = models.PositiveIntegerField(default=0)
    window_start = models.TimeField(null=True, blank=True)
    window_end = models.TimeField(null=True, blank=True)
    condition = models.CharField(
        max_length=16, choices=StepCondition.choices, blank=True, default=StepCondition.ALWAYS
    )
    campaign = models.OneToOneField(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("position", "id")
        constraints = (
            models.UniqueConstraint(
                fields=("sequence", "position"),
                condition=Q(retired_at__isnull=True),
                name="sequence_step_position",
            ),
        )

    def __str__(self) -> str:
        return f"{self.sequence_id} step {self.position + 1}"


class StepCycle(models.Model):
    """The campaign a step sends with in one year of an every-year sequence.

    A delivery is unique per (campaign, recipient) — the engine's promise that a message goes
    once — so a birthday message sent again next year needs a campaign of next year. The
    step's own campaign (`SequenceStep.campaign`) serves cycle 0 (once-only sequences); each
    year's is made from it, with the same frozen content, when the first person of that year
    reaches the step. Keyed by the enrollment's cycle, not by the calendar: someone whose
    year-2026 steps run into January 2027 still gets the 2026 campaigns, and nobody meets
    the same campaign twice."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    step = models.ForeignKey("SequenceStep", on_delete=models.CASCADE, related_name="cycles")
    cycle = models.PositiveSmallIntegerField()
    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = (models.UniqueConstraint(fields=("step", "cycle"), name="step_cycle_unique"),)

    def __str__(self) -> str:
        return f"{self.step_id} in {self.cycle}"


class Enrollment(models.Model):
    """A recipient's progress through a sequence: `position` is the next step to send, due
    at `next_step_at` (`waiting_since` plus that step's delay). Unique per (sequence,
    recipient, cycle): nobody goes through a sequence twice, except an every-year sequence
    once a year (`cycle` is the year of the date; 0 for every other sequence)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="enrollments")
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    cycle = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(
        max_length=16, choices=EnrollmentState.choices, default=EnrollmentState.ACTIVE
    )
    stop_reason = models.CharField(max_length=16, choices=StopReason.choices, blank=True)
    enrolled_at = models.DateTimeField(default=timezone.now)
    waiting_since = models.DateTimeField(default=timezone.now)
    next_step_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-enrolled_at", "-id")
        constraints = (
            models.UniqueConstraint(
                fields=("sequence", "recipient", "cycle"), name="enrollment_unique_recipient"
            ),
        )
        indexes = (
            # The scheduler: active enrollments whose step is due, oldest first.
            models.Index(
                fields=("next_step_at", "id"),
                name="enrollment_due",
                condition=Q(state="active"),
            ),
            models.Index(fields=("sequence", "state", "position"), name="enrollment_progress"),
            # The people of a sequence, newest first, a page at a time (page and API): people
            # enrolled from one list share one enrolled_at, and without this index every page
            # sorted them all.
            models.Index(fields=("sequence", "enrolled_at", "id"), name="enrollment_recent"),
        )

    def __str__(self) -> str:
        return f"{self.recipient_id} in {self.sequence_id} ({self.state})"
