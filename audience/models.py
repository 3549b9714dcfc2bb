"""Recipients, their custom fields, lists, segments and the suppression list of a workspace."""

from __future__ import annotations

from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import Workspace
from core import reasons

# Recipient columns every workspace has; custom fields may not take these names.
STANDARD_FIELDS = ("email", "first_name", "last_name", "company", "country", "city", "comment")
# Placeholders every message offers besides the recipient's fields (filled per delivery).
LINK_PLACEHOLDERS = ("unsubscribe_url", "view_in_browser_url", "preferences_url")
# The longest comment or custom text value a recipient may have: every value is copied into
# messages, and a template may repeat it, so an unbounded one would make every message huge.
VALUE_MAX_CHARS = 2000
# A new workspace starts with these, so that djangoMailer's CSV columns import unchanged.
DEFAULT_CUSTOM_FIELDS = ("free_field1", "free_field2", "free_field3")

field_key_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{0,62}$",
    "Use lower-case letters, digits and underscores, starting with a letter.",
)


class RecipientStatus(models.TextChoices):
    # Marked for the catalog; pages translate them where they show them.
    ACTIVE = "active", gettext_noop("Active")
    UNSUBSCRIBED = "unsubscribed", gettext_noop("Unsubscribed")
    BOUNCED = "bounced", gettext_noop("Bounced")
    COMPLAINED = "complained", gettext_noop("Complained")


class Recipient(models.Model):
    """A person mail is sent to. The e-mail is stored normalised and is unique per workspace.

    Values of custom fields live in `fields`, keyed by CustomField.key, as JSON strings,
    numbers, booleans or ISO dates, so that segments can filter them in SQL.
    """

    # No index of its own: every index below starts with the workspace (the unique
    # (workspace, email) too), so one more on it alone is only written, never read. No
    # database constraint either: an import writes a million rows of the one workspace its
    # job belongs to, and a check per row at commit cost ~5 µs of the database's ~38 a row.
    # Django's cascade deletes a workspace's recipients; a batch committed while its
    # workspace is being deleted can leave rows that no page or query reaches (all are
    # scoped to a workspace).
    workspace = models.ForeignKey(
        Workspace,
        on_delete=models.CASCADE,
        related_name="recipients",
        db_index=False,
        db_constraint=False,
    )
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=200, blank=True)
    last_name = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=200, blank=True)
    comment = models.TextField(
        blank=True, max_length=VALUE_MAX_CHARS, validators=[MaxLengthValidator(VALUE_MAX_CHARS)]
    )
    status = models.CharField(
        max_length=16, choices=RecipientStatus.choices, default=RecipientStatus.ACTIVE
    )
    fields = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("email",)
        constraints = (
            models.UniqueConstraint(fields=("workspace", "email"), name="recipient_unique_email"),
        )
        indexes = (
            models.Index(fields=("workspace", "status"), name="recipient_ws_status"),
            # The recipients table sorts only by indexed columns (selectors.SORTABLE): with a
            # million rows, sorting by any other column sorts them all for every page. Each
            # index ends with the id that breaks ties: an import gives all its rows one
            # created_at, and ties left to a sort are sorted whole for every page.
            models.Index(fields=("workspace", "created_at", "id"), name="recipient_ws_created_id"),
            models.Index(fields=("workspace", "last_name", "id"), name="recipient_ws_last_name"),
            models.Index(fields=("workspace", "company", "id"), name="recipient_ws_company"),
            models.Index(fields=("workspace", "updated_at", "id"), name="recipient_ws_updated"),
        )

    def __str__(self) -> str:
        return self.email


class CustomFieldType(models.TextChoices):
    # Marked for the catalog; pages translate them where they show them.
    TEXT = "text", gettext_noop("Text")
    NUMBER = "number", gettext_noop("Number")
    DATE = "date", gettext_noop("Date")
    BOOLEAN = "boolean", gettext_noop("Yes/no")
    CHOICE = "choice", gettext_noop("Choice")


class CustomField(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="custom_fields")
    key = models.CharField(max_length=63, validators=[field_key_validator])
    label = models.CharField(max_length=120)
    type = models.CharField(
        max_length=16, choices=CustomFieldType.choices, default=CustomFieldType.TEXT
    )
    choices = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created_at", "id")
        constraints = (
            models.UniqueConstraint(fields=("workspace", "key"), name="customfield_unique_key"),
        )

    def __str__(self) -> str:
        return self.key


class RecipientList(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="lists")
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    # Sign-up forms add people to such a list at once; to the others only once they have
    # followed the link of a confirmation e-mail (double opt-in, the safe default).
    single_opt_in = models.BooleanField(
        "Single opt-in",
        default=False,
        help_text="Sign-up forms add people at once, without a confirmation e-mail.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    recipients: models.ManyToManyField[Recipient, ListMembership] = models.ManyToManyField(
        Recipient, through="ListMembership", related_name="lists", blank=True
    )

    class Meta:
        ordering = ("name", "id")
        constraints = (
            models.UniqueConstraint(fields=("workspace", "name"), name="list_unique_name"),
        )

    def __str__(self) -> str:
        return self.name


class ListMembership(models.Model):
    recipient_list = models.ForeignKey(RecipientList, on_delete=models.CASCADE)
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=("recipient_list", "recipient"), name="listmembership_unique"
            ),
        )
        indexes = (models.Index(fields=("recipient", "recipient_list"), name="listmember_rcpt"),)

    def __str__(self) -> str:
        return f"{self.recipient_id} in {self.recipient_list_id}"


class Segment(models.Model):
    """A saved filter over recipients; `definition` is compiled to one SQL query."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=120)
    definition = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("name", "id")
        constraints = (
            models.UniqueConstraint(fields=("workspace", "name"), name="segment_unique_name"),
        )

    def __str__(self) -> str:
        return self.name


class SuppressionReason(models.TextChoices):
    # Marked for the catalog; pages translate them where they show them.
    UNSUBSCRIBED = "unsubscribed", gettext_noop("Unsubscribed")
    BOUNCED = "bounced", gettext_noop("Bounced")
    COMPLAINED = "complained", gettext_noop("Complained")
    MANUAL = "manual", gettext_noop("Added by hand")


class Suppression(models.Model):
    """An address that must never be sent to again in this workspace."""

    # No index of its own: the workspace is the first column of both indexes below.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="suppressions", db_index=False
    )
    email = models.EmailField(max_length=254)
    reason = models.CharField(max_length=16, choices=SuppressionReason.choices)
    source = models.CharField(
        max_length=200, blank=True, help_text="What caused it: a campaign, a reply, an import…"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (
            models.UniqueConstraint(fields=("workspace", "email"), name="suppression_unique"),
        )
        # Newest first, a page at a time (the page and the API): an imported list of a
        # million addresses shares one created_at, and without this index every page sorted
        # them all. A search by part of an address has a trigram index on PostgreSQL only,
        # outside the model's state (migration 0015).
        indexes = (
            models.Index(
                fields=("workspace", "created_at", "id"), name="suppression_ws_created_id"
            ),
        )

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"


class JobKind(models.TextChoices):
    IMPORT = "import", "Import"
    BULK = "bulk", "Bulk action"


class JobStatus(models.TextChoices):
    # Marked for the catalog; pages translate them where they show them.
    DRAFT = "draft", gettext_noop("Waiting for column mapping")
    QUEUED = "queued", gettext_noop("Queued")
    RUNNING = "running", gettext_noop("Running")
    DONE = "done", gettext_noop("Done")
    FAILED = "failed", gettext_noop("Failed")
    CANCELLED = "cancelled", gettext_noop("Cancelled")


class AudienceJob(models.Model):
    """A background job over many recipients: a CSV import or a bulk action.

    `params` holds what the job needs (an import's file, encoding, delimiter, mapping, mode and
    target list; a bulk action's action, list and filter). The worker claims a queued job with
    a conditional UPDATE, works in batches and re-reads `cancel_requested` between batches.
    Counters are updated with every batch so that the progress bar and the report are true
    even when the job stops half way. A worker that dies mid-job leaves a stale heartbeat;
    the next claim resumes the job after its last committed batch.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="audience_jobs")
    kind = models.CharField(max_length=16, choices=JobKind.choices)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file_name = models.CharField(max_length=255, blank=True)
    params = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0, help_text="Estimated rows or recipients")
    processed = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    # Rows of an "add and update" import whose recipient already held the same values.
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # Where a resumed job goes on from: the last file line (imports) or recipient id (bulk).
    last_line = models.PositiveBigIntegerField(default=0, help_text="Last line or id handled")
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    error_detail = models.JSONField(null=True, blank=True, editable=False)  # core.reasons
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # Touched with every batch; a running job whose heartbeat is old lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (models.Index(fields=("status", "created_at"), name="audiencejob_queue"),)

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def error_shown(self) -> str:
        return reasons.shown(self.error, self.error_detail)

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        if not self.total:
            return 0
        return min(99, int(self.processed * 100 / self.total))


class ImportRejection(models.Model):
    """One row of an import that was not taken, with its line in the file and the reason."""

    job = models.ForeignKey(AudienceJob, on_delete=models.CASCADE, related_name="rejections")
    line = models.PositiveIntegerField()
    email = models.CharField(max_length=500, blank=True)
    reason = models.CharField(max_length=500)
    # True for an address met earlier in the same file (skipped, not rejected); listed only
    # up to AUDIENCE_DUPLICATES_LISTED per import.
    duplicate = models.BooleanField(default=False)

    class Meta:
        ordering = ("line", "id")
        indexes = (
            # An erasure finds the lines naming an address, case aside (email__iexact), by
            # this index, not by reading every report's lines.
            models.Index(Upper("email"), name="importrejection_email_upper"),
        )

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ConsentMethod(models.TextChoices):
    # Marked for the catalog; pages translate them where they show them.
    DOUBLE = "double", gettext_noop("Confirmed by e-mail (double opt-in)")
    SINGLE = "single", gettext_noop("Signed up (single opt-in)")
    # Ticked on the preference centre reached through a delivery's signed link, which only
    # the address's mailbox received: that link is the proof an e-mail confirmation gives.
    PREFERENCES = "prefs", gettext_noop("Chosen on the preference centre")


class Consent(models.Model):
    """Proof that a person asked to join a list: when, from where (the address kept as the
    workspace's privacy setting says) and how. Written by sign-up forms and the preference
    centre; never edited."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="consents")
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="consents")
    # The list may be deleted later; its name stays as it was when consent was given.
    recipient_list = models.ForeignKey(
        RecipientList, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    list_name = models.CharField(max_length=120)
    method = models.CharField(max_length=8, choices=ConsentMethod.choices)
    source = models.CharField(max_length=200, help_text="The sign-up form, by name")
    signed_up_at = models.DateTimeField()
    signed_up_ip = models.GenericIPAddressField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ("-signed_up_at", "-id")
        indexes = (models.Index(fields=("recipient", "signed_up_at"), name="consent_recipient"),)

    def __str__(self) -> str:
        return f"{self.recipient_id} -> {self.list_name} ({self.method})"
