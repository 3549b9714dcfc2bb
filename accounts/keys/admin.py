"""Read-only admin page for API keys: only their prefix is ever shown, never the hash."""

from django.contrib import admin

from accounts.keys.models import ApiKey
from core.readonly_admin import ReadOnlyAdmin


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "prefix",
        "workspace",
        "role",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
