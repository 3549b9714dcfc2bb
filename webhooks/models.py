"""Outgoing webhooks: a workspace's endpoints, the outbox of requests to them, and the cursors
that turn the engine's attempt log into delivery events without touching the engine.

One `Event` row is one signed POST to one endpoint: a campaign's status change, a test, or a
batch of up to WEBHOOK_EVENTS_PER_REQUEST delivery events. It is retried with backoff until it
is delivered or has used its attempts.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Workspace
from core.crypto import EncryptedTextField


class Endpoint(models.Model):
    """A URL of the workspace's own that is told of the events it subscribes to."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # Event types (see webhooks.events.EVENT_TYPES); "*" is every type, later ones included.
    events = models.JSONField(default=list)
    # Set by the services from `events`: lets the worker find, in one indexed query, the
    # workspaces whose attempt log it must read (most have none).
    wants_delivery_events = models.BooleanField(default=False)
    wants_recipient_events = models.BooleanField(default=False)
    wants_account_events = models.BooleanField(default=False)
    wants_campaign_events = models.BooleanField(default=False)
    wants_feedback_events = models.BooleanField(default=False)  # tracking's events
    # Encrypted, not hashed: the worker signs every request with it.
    secret = EncryptedTextField()
    # After a rotation the old secret also signs for a while, so receivers can switch over.
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (
            models.Index(
                fields=("workspace",),
                name="webhook_endpoint_watching",
                condition=Q(active=True)
                & (
                    Q(wants_delivery_events=True)
                    | Q(wants_recipient_events=True)
                    | Q(wants_account_events=True)
                    | Q(wants_campaign_events=True)
                    | Q(wants_feedback_events=True)
                ),
            ),
        )

    def __str__(self) -> str:
        return self.url


class EventState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Event(models.Model):
    """One POST to one endpoint (the outbox row), carrying one or more events."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="outbox")
    # Sent as Postroom-Event-Id and webhook-id: the same on every retry, so receivers can drop
    # repeats.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The type of the events carried ("delivery.deferred,delivery.sent" for a mixed batch).
    event_type = models.CharField(max_length=200)
    event_count = models.PositiveIntegerField(default=1)
    payload = models.JSONField()  # the request body: {"events": [...]}
    state = models.CharField(max_length=16, choices=EventState.choices, default=EventState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker sending it holds it until then, so two workers never send it at once.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (
            models.Index(
                fields=("next_attempt_at",),
                name="webhook_event_due",
                condition=Q(state="pending"),
            ),
            models.Index(fields=("endpoint", "-id"), name="webhook_event_endpoint"),
        )

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.state})"


class Cursor(models.Model):
    """How far the worker has read a workspace's attempts, suppressions, accounts' and
    campaigns' status changes and tracking events (ids, exclusive)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    attempt_id = models.BigIntegerField(default=0)
    suppression_id = models.BigIntegerField(default=0)
    account_change_id = models.BigIntegerField(default=0)
    campaign_change_id = models.BigIntegerField(default=0)
    tracking_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"workspace {self.workspace_id}: attempt {self.attempt_id}"
