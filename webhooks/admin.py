"""Read-only admin pages for webhooks. Signing secrets are never shown."""

from django.contrib import admin

from core.readonly_admin import LargeTableAdmin, ReadOnlyAdmin
from webhooks.models import Cursor, Endpoint, Event


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyAdmin):
    list_display = ("url", "workspace", "active", "consecutive_failures", "last_success_at")
    list_filter = ("active",)


@admin.register(Event)
class EventAdmin(LargeTableAdmin):
    list_display = ("event_type", "endpoint", "state", "attempts", "last_status_code", "created_at")
    list_filter = ("state",)


@admin.register(Cursor)
class CursorAdmin(ReadOnlyAdmin):
    list_display = ("workspace", "updated_at")
