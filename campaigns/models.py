"""Campaigns and their outbox: one Delivery per (campaign, recipient), one Attempt per try.

The engine is driven by these rows alone: pause and cancel change `Campaign.status`, which the
claim query respects; a crashed worker's leases expire and return its deliveries to the queue.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import Workspace
from audience.models import Recipient, RecipientList, Segment
from core import reasons
from sending.models import SendingAccount

DAY_SECONDS = 24 * 3600
DEFAULT_LIFETIME_DAYS = 3
LIFETIME_DAYS_MAX = 30


class CampaignStatus(models.TextChoices):
    # The labels stay English in Python (messages and the API name them); pages translate
    # them where they show them (`{% translate label %}`), so they are marked for the catalog.
    DRAFT = "draft", gettext_noop("Draft")
    SCHEDULED = "scheduled", gettext_noop("Scheduled")
    # Started: a worker is creating its deliveries (the launch), then it runs.
    LAUNCHING = "launching", gettext_noop("Launching")
    RUNNING = "running", gettext_noop("Running")
    PAUSED = "paused", gettext_noop("Paused")
    COMPLETED = "completed", gettext_noop("Completed")
    CANCELLED = "cancelled", gettext_noop("Cancelled")


class ScheduleMode(models.TextChoices):
    # Marked for the catalog, translated where pages show them (as CampaignStatus).
    NOW = "now", gettext_noop("Send now")
    AT = "at", gettext_noop("Send at a date and time")
    WINDOW = "window", gettext_noop("Send only inside a start/end window")


class ResendKind(models.TextChoices):
    # Marked for the catalog, translated where pages show them (as CampaignStatus).
    FAILED = "failed", gettext_noop("Whose delivery failed or expired")
    UNOPENED = "unopened", gettext_noop("Who did not open it")
    NEW_MEMBERS = "new_members", gettext_noop("Who joined its lists since")


class Campaign(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    # The template the campaign was made from; its content is copied into `content` at start.
    template_id = models.BigIntegerField(null=True, blank=True)
    # Audience: the union of lists, segments and picked recipients (a filter or explicit ids).
    lists = models.ManyToManyField(RecipientList, blank=True, related_name="+")
    segments = models.ManyToManyField(Segment, blank=True, related_name="+")
    picked = models.JSONField(
        default=dict,
        blank=True,
        help_text='Recipients picked in the table: {"ids": [...]} or {"filter": {...}}.',
    )
    accounts = models.ManyToManyField(SendingAccount, blank=True, related_name="campaigns")
    schedule_mode = models.CharField(
        max_length=8, choices=ScheduleMode.choices, default=ScheduleMode.NOW
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    status_changed_at = models.DateTimeField(default=timezone.now)
    status_reason = models.CharField(max_length=500, blank=True)
    # The reason's code and values (core.reasons), so pages say it in the reader's language.
    status_reason_detail = models.JSONField(null=True, blank=True, editable=False)
    # Frozen at start: editing the template later does not change a running campaign.
    content = models.JSONField(default=dict, blank=True, editable=False)
    launched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    # Counted from the launch; what is not sent by then ends `expired` (stale news is not sent
    # days late). The editor sets it in whole days, LIFETIME_DAYS_MAX at most.
    lifetime_seconds = models.PositiveIntegerField(default=DEFAULT_LIFETIME_DAYS * DAY_SECONDS)
    # Counted by the launch: who was left out and why.
    audience_total = models.PositiveIntegerField(default=0)
    excluded_suppressed = models.PositiveIntegerField(default=0)
    excluded_unsubscribed = models.PositiveIntegerField(default=0)
    excluded_duplicates = models.PositiveIntegerField(default=0)
    # Deliveries per status, kept once the campaign is completed or cancelled and none of its
    # deliveries is in flight (services.campaigns_freeze_counts): from then on its total, sent
    # (sent, bounced, complained), cancelled and waiting figures cannot change, so the list
    # shows them without reading a million deliveries. Per-status figures may still move
    # (a bounce turns sent into bounced): pages that show them count the deliveries.
    final_counts = models.JSONField(null=True, blank=True, editable=False)
    # Tracking of opens and clicks: None follows the workspace's setting (read at the start).
    track_opens = models.BooleanField(null=True, blank=True)
    track_clicks = models.BooleanField(null=True, blank=True)
    # Added to every tracked link's target (a parameter the link has already is kept).
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    # Empty: the template's subject. A resend to those who did not open gets a new one.
    subject = models.CharField(max_length=998, blank=True)
    # A resend: a new campaign made from a finished one for some of its audience, fixed when
    # it was made (ResendRecipient); its lists, segments and picked rows are not used.
    resent_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resends"
    )
    resend_kind = models.CharField(max_length=16, choices=ResendKind.choices, blank=True)
    # The workspace's public archive shows the campaign once it is sent (when the workspace's
    # archive is on), rendered with `archive_values` over the template's sample values: never
    # a recipient's data.
    archived = models.BooleanField(default=False)
    archive_values = models.JSONField(default=dict, blank=True)
    is_single = models.BooleanField(
        default=False, help_text="A one-off e-mail to one recipient (djangoMailer's queue)."
    )
    # A step of an automated sequence (automation.sequences): its deliveries are added one
    # recipient at a time as each reaches the step, so it runs open-ended (never finished for
    # having nothing left) and is left out of the campaign list, calendar and dashboard.
    sequence_step = models.BooleanField(default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Disabled by a platform manager (campaigns.platform): stopped, and neither started nor
    # resumed by anyone until a manager enables it again. The reason is shown to its owner.
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (models.Index(fields=("status", "scheduled_at"), name="campaign_due"),)

    def __str__(self) -> str:
        return self.name

    @property
    def status_reason_shown(self) -> str:
        return reasons.shown(self.status_reason, self.status_reason_detail)

    @property
    def lifetime_days(self) -> int:
        """The lifetime in whole days, as the editor shows it (rounded up)."""
        return -(-self.lifetime_seconds // DAY_SECONDS)

    @property
    def has_fixed_audience(self) -> bool:
        """A resend: its recipients were fixed when it was made; its lists are not used."""
        return bool(self.resend_kind)


class AbTestKind(models.TextChoices):
    # Marked for the catalog, translated where pages show them (as CampaignStatus).
    SUBJECT = "subject", gettext_noop("Subject")
    FROM_NAME = "from_name", gettext_noop("From name")
    CONTENT = "content", gettext_noop("Whole content")


class AbCriterion(models.TextChoices):
    # Marked for the catalog, translated where pages show them (as CampaignStatus).
    OPENS = "opens", gettext_noop("Unique opens")
    CLICKS = "clicks", gettext_noop("Unique clicks")
    REPLIES = "replies", gettext_noop("Replies")


class AbTestState(models.TextChoices):
    # Marked for the catalog, translated where pages show them (as CampaignStatus).
    PLANNED = "planned", gettext_noop("Planned")  # the campaign has not launched yet
    TESTING = "testing", gettext_noop("Testing")  # the test share is out; the rest waits
    DECIDED = "decided", gettext_noop("Winner chosen")  # the rest was given the winner


AB_VARIANTS_MIN = 2
AB_VARIANTS_MAX = 5


def _ab_seed() -> int:
    return secrets.randbelow(2**31)


class AbTest(models.Model):
    """A campaign's A/B test: its variants go to a test share of the audience, split evenly;
    when the wait is over (or by hand) the winner goes to the rest.

    The launch creates only the test share's deliveries and moves the test to `testing`; the
    campaign cannot complete while it is testing. Choosing the winner moves it to `decided`
    in the transaction that creates the rest's deliveries, so the rest is sent exactly once.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="ab_test")
    kind = models.CharField(max_length=16, choices=AbTestKind.choices)
    test_percent = models.PositiveSmallIntegerField(default=20)
    criterion = models.CharField(
        max_length=16, choices=AbCriterion.choices, default=AbCriterion.OPENS
    )
    wait_seconds = models.PositiveIntegerField(default=4 * 3600)
    # Orders the audience for the split (a seeded shuffle done by the database), so that the
    # split can be told again from the rows alone.
    seed = models.PositiveIntegerField(default=_ab_seed)
    state = models.CharField(
        max_length=16, choices=AbTestState.choices, default=AbTestState.PLANNED
    )
    winner = models.ForeignKey(
        "Variant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # The last delivery of the test share, kept when the winner goes to the rest: the rest's
    # deliveries come after it, so the test's figures stay those of the test share alone.
    test_last_delivery_id = models.BigIntegerField(null=True, blank=True)
    decided_by_hand = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"A/B test of campaign {self.campaign_id} ({self.state})"


class Variant(models.Model):
    """One variant of an A/B test: the subject, the From name or the whole content (a
    template) its deliveries carry."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    position = models.PositiveSmallIntegerField()  # 0 is variant A
    # The subject or From name; for a content variant, its template's name (as shown in
    # reports: set with the test, renewed when the content is frozen at the launch).
    value = models.CharField(max_length=998)
    # A content variant's template (of the campaign's workspace; checked when saved and at
    # the launch). Null for other kinds, and for variant A: it is the campaign's own
    # template, whichever that is when the campaign starts. A plain id, as the campaign's.
    template_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("position",)
        constraints = (
            models.UniqueConstraint(fields=("campaign", "position"), name="variant_position"),
        )

    def __str__(self) -> str:
        return f"{self.label}: {self.value}"

    @property
    def label(self) -> str:
        return "ABCDE"[self.position] if self.position < AB_VARIANTS_MAX else str(self.position)


class ResendRecipient(models.Model):
    """One recipient of a resend's audience, fixed when the resend was made: the launch sends
    to these (still leaving out the suppressed and unsubscribed), never to its lists."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("campaign", "recipient"), name="resend_recipient"),
        )

    def __str__(self) -> str:
        return f"{self.recipient_id} in resend {self.campaign_id}"


class DeliveryStatus(models.TextChoices):
    # Marked for the catalog, translated where pages show them (as CampaignStatus).
    QUEUED = "queued", gettext_noop("Queued")
    DEFERRED = "deferred", gettext_noop("Deferred")
    SENDING = "sending", gettext_noop("Sending")
    SENT = "sent", gettext_noop("Sent")
    FAILED = "failed", gettext_noop("Failed")
    NOT_FOUND = "not_found", gettext_noop("Not found")
    CONNECTION_ERROR = "connection_error", gettext_noop("Connection error")
    OTHER_ERROR = "other_error", gettext_noop("Other error")
    BOUNCED = "bounced", gettext_noop("Bounced")
    COMPLAINED = "complained", gettext_noop("Complained")
    SUPPRESSED = "suppressed", gettext_noop("Suppressed")
    EXPIRED = "expired", gettext_noop("Expired")
    CANCELLED = "cancelled", gettext_noop("Cancelled")


WAITING = (DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED)
OPEN = (*WAITING, DeliveryStatus.SENDING)


class Delivery(models.Model):
    """The outbox row of one recipient in one campaign; unique per (campaign, recipient)."""

    # A launch inserts a million rows of one campaign and workspace, which it holds locked:
    # a foreign-key check per row would prove that one fact a million times (a third of the
    # launch), so the database keeps no constraint here and Django's cascades delete the rows
    # with their campaign or workspace. No index of their own either: the composite indexes
    # below lead with them.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
        db_constraint=False,
    )
    # No database constraint either: checked per row, it cost a million-recipient launch
    # 5.5 of its 14 s (each check locks the recipient row at commit). Django still unsets it
    # when the recipient is deleted; one deleted while a launch's INSERT ran can leave an id
    # that points nowhere, and the engine then sends nothing (outcome.recipient_gone).
    recipient = models.ForeignKey(
        Recipient,
        null=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        db_constraint=False,
    )
    email = models.EmailField(max_length=254)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Indexed only where set (delivery_account): a launch's rows have none yet. Not a
    # constraint, as on Attempt: the engine sets it for every message it records.
    account = models.ForeignKey(
        SendingAccount,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    message_id = models.CharField(max_length=255, blank=True)
    last_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_enhanced_code = models.CharField(max_length=16, blank=True)
    last_reply = models.TextField(blank=True)
    # The A/B test variant it carries; null: the campaign's own content. No index: a variant
    # is deleted only with its campaign, or while a draft has no deliveries.
    variant = models.ForeignKey(
        Variant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # Set for deliveries made after their campaign's launch (a sequence's steps): their
    # lifetime counts from here, not from the launch. Null: made by the launch.
    created_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=("campaign", "recipient"), name="delivery_unique_recipient"
            ),
        )
        indexes = (
            # The claim: a campaign's due deliveries in waiting states, oldest first; the id
            # makes the order total (a launch gives every delivery the same time).
            models.Index(
                fields=("campaign", "next_attempt_at", "id"),
                name="delivery_campaign_due",
                condition=Q(status__in=("queued", "deferred")),
            ),
            # Crash recovery: leases that ran out.
            models.Index(
                fields=("lease_expires_at",),
                name="delivery_leased",
                condition=Q(status="sending"),
            ),
            models.Index(fields=("campaign", "status"), name="delivery_campaign_status"),
            # The report's pages (keyset by id within the campaign): without it a page of a
            # campaign walked the primary key past every older campaign's deliveries.
            models.Index(fields=("campaign", "id"), name="delivery_campaign_id"),
            # An account's deliveries (its deletion sets them to null).
            models.Index(
                fields=("account",), name="delivery_account", condition=Q(account__isnull=False)
            ),
            # An account's recent messages: the warm-up's bounce and complaint rates.
            models.Index(
                fields=("account", "sent_at"),
                name="delivery_account_sent",
                condition=Q(sent_at__isnull=False),
            ),
            # A bounce or complaint that names no message of ours is matched by its address
            # (tracking.intake): without this, each mailbox chunk read every delivery of the
            # workspace. Only sent rows are matched, so only they are indexed: a launch's
            # million new rows add nothing here.
            models.Index(
                F("workspace"),
                Lower("email"),
                name="delivery_workspace_address",
                condition=Q(sent_at__isnull=False),
            ),
            # The deliveries a deleted recipient left (the rest are found by their recipient):
            # the log's lookup of an address and erasure (selectors.deliveries_of_address).
            # Rows enter only when a recipient is deleted, so the engine never writes here.
            models.Index(
                F("workspace"),
                Lower("email"),
                name="delivery_orphan_address",
                condition=Q(recipient__isnull=True),
            ),
        )

    def __str__(self) -> str:
        return f"{self.email} ({self.status})"


class SentTally(models.Model):
    """Messages a finished campaign sent to one receiving domain through one account, kept
    when its counts are frozen (services.campaigns_freeze_counts).

    A sent delivery's address, account and `sent_at` never change afterwards, so its report
    adds these few rows (one per domain and account) instead of reading a million deliveries
    for the sent figures; what came back (opens, bounces, ...) is still read from the events.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    domain = models.CharField(max_length=255)  # lower case, as the report groups them
    # The deliveries' account ids as they are: not a constraint, because theirs is not one
    # (an account deleted while its last batch was recorded leaves its id; shown as "—").
    account = models.ForeignKey(
        SendingAccount,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    # One row per (campaign, domain, account): written once, with the frozen counts.
    sent = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.domain}: {self.sent}"


class AttemptOutcome(models.TextChoices):
    # Marked for the catalog, translated where pages show them (as CampaignStatus).
    SENT = "sent", gettext_noop("Sent")
    TEMPORARY = "temporary", gettext_noop("Temporary failure")
    PERMANENT = "permanent", gettext_noop("Permanent failure")
    AUTH = "auth", gettext_noop("Authentication failed")
    CONNECTION = "connection", gettext_noop("Connection failed")
    AMBIGUOUS = "ambiguous", gettext_noop("Connection lost after the message")
    SUPPRESSED = "suppressed", gettext_noop("Suppressed at send time")
    QUOTA = "quota", gettext_noop("Provider's daily limit reached")


class Attempt(models.Model):
    """Every try at a delivery: the audit log of every seed."""

    # Written for every message sent: as on Delivery, the batch's one campaign and workspace
    # are not proved again per row by the database (Django's cascades delete the rows), and the
    # composite indexes below serve their lookups.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="attempts",
        db_index=False,
        db_constraint=False,
    )
    # Nor its delivery and account: each checked per row at commit cost the engine three
    # key-share lookups a message (~8.5 µs of the database's CPU). A delivery goes only with
    # its campaign, whose attempts Django's cascade deletes; an account deleted while a batch
    # is being recorded can leave its id, which the pages show as "—" and the API as an id.
    delivery = models.ForeignKey(
        Delivery,
        on_delete=models.CASCADE,
        related_name="attempt_set",
        db_index=False,  # indexed by attempt_delivery
        db_constraint=False,
    )
    account = models.ForeignKey(
        SendingAccount,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    email = models.EmailField(max_length=254)
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    enhanced_code = models.CharField(max_length=16, blank=True)
    reply = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (
            # With the id, the log's order (newest first, then the larger id) comes from the
            # index alone, and a page reads a page even when the planner believes the
            # month's partition empty (campaigns/tests/test_log_stale_statistics.py).
            models.Index(fields=("workspace", "-created_at", "-id"), name="attempt_ws_time"),
            models.Index(fields=("campaign", "-created_at", "-id"), name="attempt_campaign_time"),
            models.Index(fields=("delivery",), name="attempt_delivery"),
        )

    def __str__(self) -> str:
        return f"{self.email}: {self.outcome}"


class WorkerHeartbeat(models.Model):
    """A worker process that is alive says so here every few seconds; the UI and the API use
    it to warn that nothing is sending (the most common reason campaigns "do not start")."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16)  # "embedded" or "celery"
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-seen_at",)

    def __str__(self) -> str:
        return f"{self.kind} worker {self.name}"


class CampaignStatusChange(models.Model):
    """A campaign's status changed: written in the transaction of the change.

    The outbox of what happened, for the layers above (webhooks read the rows by id as
    `campaign.status_changed` events); campaigns never calls them. The status, the reason and
    the name are copied as they were, so a reader later sees this change, not the campaign's
    state by then.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="status_changes")
    campaign_name = models.CharField(max_length=200)
    action = models.CharField(max_length=32)
    previous_status = models.CharField(max_length=16, choices=CampaignStatus.choices)
    status = models.CharField(max_length=16, choices=CampaignStatus.choices)
    reason = models.CharField(max_length=500, blank=True)
    reason_detail = models.JSONField(null=True, blank=True)  # core.reasons
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "id"], name="campaign_change_ws_id")]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id}: {self.previous_status} -> {self.status}"


class DayTally(models.Model):
    """A workspace's attempts of one past local day, per dashboard group (campaigns.dashboard):
    counted once when the day is over, by the hourly housekeeping or the first dashboard
    that needs it, so that the dashboard reads 29 rows rather than 29 days of attempts (ten
    million attempts: 18 s). Forgotten when attempts are deleted, and kept per time zone: a
    workspace that moves to another zone has its days counted again."""

    # Looked up through the unique index, which starts with it.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    zone = models.CharField(max_length=64)
    day = models.DateField()
    sent = models.PositiveIntegerField(default=0)
    retried = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    suppressed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=("workspace", "zone", "day"), name="daytally_one_per_local_day"
            ),
        )

    def __str__(self) -> str:
        return f"{self.day} ({self.zone})"
