"""The audit log in the admin: read-only, like everywhere else."""

from django.contrib import admin

from accounts.audit.models import AuditEntry
from core.readonly_admin import LargeTableAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(LargeTableAdmin):
    list_display = ("created_at", "actor_email", "via", "action", "target_label", "workspace")
    list_filter = ("via",)
