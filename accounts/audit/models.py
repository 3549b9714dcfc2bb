"""One row per action that matters. Rows are only ever added (and purged when too old);
erasure alone edits them, cutting an erased person's address out (services.person_erase)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Workspace


class Via(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "API"
    SYSTEM = "system", "System"


class AuditEntry(models.Model):
    # Null: actions on no workspace (a sign-in, a manager blocking a user).
    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The user may be deleted later; the address they had stays readable.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True, default="")
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.SYSTEM)
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=48)
    target_type = models.CharField(max_length=48, blank=True, default="")
    target_id = models.CharField(max_length=64, blank=True, default="")
    target_label = models.CharField(max_length=200, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["workspace", "-created_at"], name="audit_workspace_time")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_email or self.via} {self.action}"
