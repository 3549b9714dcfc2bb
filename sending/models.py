"""Sending accounts, the hourly send buckets behind the workspace limit, DKIM keys and the
messages the local capture transport keeps.

Secrets (passwords, API keys, OAuth tokens, private keys) live in EncryptedTextField columns:
the database holds only ciphertext, and no page, API, admin or log shows them again.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import Workspace
from core.crypto import EncryptedTextField


class AccountKind(models.TextChoices):
    # Marked for the catalog; pages translate them where they show them.
    SMTP = "smtp", gettext_noop("SMTP server")
    GMAIL = "gmail", gettext_noop("Gmail (app password)")
    OUTLOOK = "outlook", gettext_noop("Outlook / Office 365 (app password)")
    YAHOO = "yahoo", gettext_noop("Yahoo (app password)")
    ZOHO = "zoho", gettext_noop("Zoho (app password)")
    OAUTH2 = "oauth2", gettext_noop("OAuth2 (Gmail or Outlook)")
    ESP = "esp", gettext_noop("E-mail service API")
    CAPTURE = "capture", gettext_noop("Local capture (messages stay in Postroom)")


class Security(models.TextChoices):
    # Marked for the catalog; pages translate them where they show them.
    NONE = "none", gettext_noop("None (plain text)")
    STARTTLS = "starttls", "STARTTLS"
    TLS = "tls", gettext_noop("Implicit TLS (SSL)")


class OAuthProvider(models.TextChoices):
    GMAIL = "gmail", "Gmail"
    OUTLOOK = "outlook", "Outlook / Office 365"


class EspProvider(models.TextChoices):
    AMAZON_SES = "amazon_ses", "Amazon SES"
    SENDGRID = "sendgrid", "SendGrid"
    MAILGUN = "mailgun", "Mailgun"
    POSTMARK = "postmark", "Postmark"
    BREVO = "brevo", "Brevo"


class AccountStatus(models.TextChoices):
    PENDING = "pending", gettext_noop("Pending")
    ACTIVE = "active", gettext_noop("Active")
    INACTIVE = "inactive", gettext_noop("Inactive")
    ERROR = "error", gettext_noop("Error")


# The seed's "Common SMTP settings": what a mailbox preset fills in.
PRESETS: dict[str, tuple[str, int, str]] = {
    AccountKind.GMAIL: ("smtp.gmail.com", 587, Security.STARTTLS),
    AccountKind.OUTLOOK: ("smtp.office365.com", 587, Security.STARTTLS),
    AccountKind.YAHOO: ("smtp.mail.yahoo.com", 465, Security.TLS),
    AccountKind.ZOHO: ("smtp.zoho.com", 465, Security.TLS),
}
OAUTH_PRESETS: dict[str, tuple[str, int, str, str]] = {
    OAuthProvider.GMAIL: (
        "smtp.gmail.com",
        587,
        Security.STARTTLS,
        "https://oauth2.googleapis.com/token",
    ),
    OAuthProvider.OUTLOOK: (
        "smtp.office365.com",
        587,
        Security.STARTTLS,
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    ),
}
SMTP_KINDS = frozenset(
    {
        AccountKind.SMTP,
        AccountKind.GMAIL,
        AccountKind.OUTLOOK,
        AccountKind.YAHOO,
        AccountKind.ZOHO,
        AccountKind.OAUTH2,
    }
)


class OAuthCredentials(models.Model):
    """What signs in with OAuth2 (XOAUTH2): the provider or its token endpoint, the client,
    the refresh token the consent gave, and the access token refreshed from it
    (`sending.oauth`). Shared by sending accounts and bounce mailboxes (tracking)."""

    oauth_provider = models.CharField(
        "OAuth2 provider", max_length=16, choices=OAuthProvider.choices, blank=True
    )
    oauth_client_id = models.CharField("OAuth2 client id", max_length=255, blank=True)
    oauth_client_secret = EncryptedTextField("OAuth2 client secret", blank=True, default="")
    oauth_refresh_token = EncryptedTextField("OAuth2 refresh token", blank=True, default="")
    oauth_token_endpoint = models.URLField("OAuth2 token endpoint", blank=True)
    oauth_access_token = EncryptedTextField(blank=True, default="", editable=False)
    oauth_access_token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


class SendingAccount(OAuthCredentials):
    """Where a workspace's messages leave from: a connection, its limits and today's count."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="sending_accounts"
    )
    name = models.CharField(max_length=120)
    from_email = models.EmailField("sender e-mail")
    from_name = models.CharField("sender name", max_length=120, blank=True)
    reply_to = models.EmailField("reply-to", blank=True)
    # VERP: where set, each campaign message's envelope sender is bounces+<token>@this domain,
    # so that a bounce names its delivery; the domain's mail must reach a bounce mailbox.
    return_path_domain = models.CharField(
        "return-path domain",
        max_length=253,
        blank=True,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$"
            )
        ],
    )
    kind = models.CharField(max_length=16, choices=AccountKind.choices, default=AccountKind.SMTP)

    smtp_host = models.CharField("SMTP host", max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField("SMTP port", default=587)
    smtp_security = models.CharField(
        "security", max_length=16, choices=Security.choices, default=Security.STARTTLS
    )
    smtp_username = models.CharField("SMTP username", max_length=255, blank=True)
    smtp_password = EncryptedTextField("SMTP password", blank=True, default="")

    esp_provider = models.CharField(
        "e-mail service", max_length=16, choices=EspProvider.choices, blank=True
    )
    esp_api_key = EncryptedTextField(
        "API key",
        blank=True,
        default="",
        help_text="SendGrid, Mailgun, Brevo: the API key. Postmark: the server token. "
        "Amazon SES: the secret access key.",
    )
    esp_key_id = models.CharField(
        "access key id", max_length=255, blank=True, help_text="Amazon SES only."
    )
    esp_region = models.CharField(
        "region",
        max_length=64,
        blank=True,
        help_text="Amazon SES: the region, e.g. eu-west-1. Mailgun: EU for its EU endpoint.",
    )

    # The e-mail service's events webhook (tracking.esp): the secret in its URL, and the key
    # the service signs with where it signs (Mailgun's signing key, SendGrid's public key).
    esp_webhook_token = EncryptedTextField(blank=True, default="", editable=False)
    esp_webhook_key = EncryptedTextField(blank=True, default="", editable=False)

    status = models.CharField(
        max_length=16, choices=AccountStatus.choices, default=AccountStatus.PENDING
    )
    status_reason = models.CharField(max_length=1000, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)

    daily_limit = models.PositiveIntegerField(default=30)
    min_interval_seconds = models.PositiveIntegerField(
        "minimum seconds between messages", default=1
    )
    # The count of `sent_day`, the workspace's local date: a new day starts at 0 without a cron.
    sent_today = models.PositiveIntegerField(default=0, editable=False)
    sent_day = models.DateField(null=True, blank=True, editable=False)
    # The local date on which the provider said the account's own sending limit was used up
    # (sending.quota.close_day): that day counts as full whatever is given back.
    day_closed_on = models.DateField(null=True, blank=True, editable=False)
    day_closed_after = models.PositiveIntegerField(null=True, blank=True, editable=False)
    last_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Warm-up: a new account's day limit starts at `warmup_start` and rises by
    # `warmup_increase` percent a day to `daily_limit` (sending.warmup has the curve). High
    # bounce or complaint rates hold the ramp: the day's value stays until an owner resumes.
    warmup_start = models.PositiveIntegerField(
        "warm-up start",
        null=True,
        blank=True,
        help_text="Messages on the first day of a warm-up; empty: no warm-up.",
    )
    warmup_increase = models.PositiveSmallIntegerField(
        "warm-up daily increase (%)",
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="How much the day's limit rises each day until it reaches the daily limit.",
    )
    warmup_started_on = models.DateField(null=True, blank=True, editable=False)
    warmup_held_days = models.PositiveIntegerField(default=0, editable=False)
    warmup_held_since = models.DateField(null=True, blank=True, editable=False)
    warmup_hold_reason = models.CharField(max_length=500, blank=True, editable=False)
    warmup_hold_detail = models.JSONField(null=True, blank=True, editable=False)  # core.reasons

    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ("name", "id")
        indexes = [models.Index(fields=("workspace", "status"))]

    def __str__(self) -> str:
        return f"{self.name} <{self.from_email}>"

    def __repr__(self) -> str:
        # Spelled out so that no secret can ever reach a log through repr().
        return f"<SendingAccount {self.pk} {self.kind} {self.from_email} {self.status}>"

    @property
    def is_smtp(self) -> bool:
        return self.kind in SMTP_KINDS

    @property
    def esp_webhook_path(self) -> str:
        """The path e-mail services post this account's events to (tracking.esp); empty until
        it has a secret. Named by URL so that sending imports nothing of tracking."""
        if self.kind != AccountKind.ESP or not self.esp_webhook_token:
            return ""
        return reverse(
            "tracking:esp_webhook",
            kwargs={
                "esp": self.esp_provider,
                "account_id": self.pk,
                "esp_token": self.esp_webhook_token,
            },
        )

    @property
    def from_domain(self) -> str:
        return self.from_email.rpartition("@")[2].lower()

    def sent_on(self, day: object) -> int:
        """Messages counted for `day` (the workspace's local date): 0 once the day changed."""
        return self.sent_today if self.sent_day == day else 0


class SendBucket(models.Model):
    """Messages a workspace sent in one minute: the rolling hour is the last 60 buckets.

    One row per workspace and minute keeps the hourly check to a small indexed sum; buckets
    older than two hours are deleted as new ones are made.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("workspace", "minute"), name="sendbucket_unique")
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id} {self.minute:%Y-%m-%d %H:%M} {self.count}"


class QuotaHold(models.Model):
    """Room a worker reserved on an account and has not settled yet.

    Settled (deleted) by the worker when it is done with the room, giving back what it did
    not use. A worker that dies first cannot: once the hold's time runs out (it is renewed
    with the worker's lease), the engine gives back what its items did not use. `items` are
    the caller's ids of what the room was for (the sending app knows nothing of them).
    """

    account = models.ForeignKey(SendingAccount, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    holder = models.CharField(max_length=200)
    day = models.DateField()
    minute = models.DateTimeField()
    count = models.PositiveIntegerField()
    items = models.JSONField(default=list)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.holder}: {self.count} on account {self.account_id} until {self.expires_at}"


class DkimKey(models.Model):
    """A DKIM signing key for one domain of a workspace; the private key is encrypted."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="dkim_keys")
    domain = models.CharField(max_length=253)
    selector = models.CharField(max_length=63, default="postroom")
    private_key = EncryptedTextField(editable=False)
    public_key = models.TextField(editable=False, help_text="base64 DER, as in the TXT record")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ("domain", "selector")
        constraints = [
            models.UniqueConstraint(
                fields=("workspace", "domain", "selector"), name="dkimkey_unique_selector"
            )
        ]

    def __str__(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    def __repr__(self) -> str:
        return f"<DkimKey {self.pk} {self}>"

    @property
    def record_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def record_value(self) -> str:
        return f"v=DKIM1; k=rsa; p={self.public_key}"


class CapturedMessage(models.Model):
    """A message the local capture transport kept instead of sending it anywhere."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        SendingAccount, null=True, on_delete=models.SET_NULL, related_name="captured"
    )
    envelope_from = models.CharField(max_length=320)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=998, blank=True)
    message_id = models.CharField(max_length=998, blank=True)
    raw = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=("workspace", "-created_at"))]

    def __str__(self) -> str:
        return self.subject or "(no subject)"


class AccountStatusChange(models.Model):
    """A sending account's status changed: written in the transaction of the change.

    The outbox of what must follow, read by the layers that act on it (sending never calls
    them): notifications tell the members (in the app and by e-mail) when an account goes to
    error, and webhooks read the rows by id as `account.status_changed` events. The account's
    name and address are copied so that the row outlives the account.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        SendingAccount, null=True, on_delete=models.SET_NULL, related_name="status_changes"
    )
    account_name = models.CharField(max_length=120)
    from_email = models.EmailField()
    previous_status = models.CharField(max_length=16, choices=AccountStatus.choices)
    status = models.CharField(max_length=16, choices=AccountStatus.choices)
    reason = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (models.Index(fields=("workspace", "id"), name="account_change_workspace"),)

    def __str__(self) -> str:
        return f"{self.account_name}: {self.previous_status} → {self.status}"
