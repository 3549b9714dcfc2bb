"""Notifications: one row per fact and person told, read in the app and, if chosen, e-mailed.

Rows are made by the worker from facts lower layers recorded (campaigns' and accounts' status
changes, import jobs, webhook endpoints, delivery rates), never by those layers themselves.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Workspace
from core import reasons
from notifications.kinds import Kind
from sending import reasons as account_reasons


class Notification(models.Model):
    """One fact told to one member. `key` names the fact, so a fact is told once per person
    however often the worker reads it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    key = models.CharField(max_length=100)
    # The subject's name and id as they were (the campaign, account, file or endpoint).
    subject_name = models.CharField(max_length=500)
    subject_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=1000, blank=True)
    reason_detail = models.JSONField(null=True, blank=True)  # core.reasons
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # The e-mail outbox: due from email_after; emailed_at is written when the e-mail is taken
    # for sending (before it is sent), so that no notification is ever e-mailed twice.
    email_after = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (
            models.UniqueConstraint(fields=("user", "key"), name="notification_once_per_user"),
        )
        indexes = (
            models.Index(fields=("user", "workspace", "read_at"), name="notification_inbox"),
            models.Index(
                fields=("email_after",),
                name="notification_email_due",
                condition=models.Q(email_after__isnull=False),
            ),
        )

    def __str__(self) -> str:
        return f"{self.kind} for user {self.user_id}: {self.subject_name}"

    @property
    def reason_shown(self) -> str:
        """The reason in the reader's language: a coded one whole, an account's error by its
        fixed opening sentence (the server's own words follow as they came)."""
        if self.kind == Kind.ACCOUNT_ERROR:
            return account_reasons.translated(self.reason)
        return reasons.shown(self.reason, self.reason_detail)


class EmailChoice(models.Model):
    """A user's choice to have one kind e-mailed or not; no row means the kind's default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_choices"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    by_email = models.BooleanField()

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("user", "kind"), name="notification_choice_once"),
        )

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.by_email}"


class Cursor(models.Model):
    """How far the worker has read the facts (one row for the whole site)."""

    campaign_change_id = models.BigIntegerField(default=0)
    account_change_id = models.BigIntegerField(default=0)
    # Jobs and endpoints are states, not logs: read from a moment (less the settle time), each
    # told once by its key.
    jobs_since = models.DateTimeField(default=timezone.now)
    # Rates cost a count per running campaign: looked at every NOTIFICATION_RATE_CHECK_SECONDS.
    rates_checked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"campaigns {self.campaign_change_id}, accounts {self.account_change_id}"
