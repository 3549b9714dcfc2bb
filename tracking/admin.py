"""Read-only admin pages for the feedback loop. A bounce mailbox's password is never shown."""

from django.contrib import admin

from core.readonly_admin import LargeTableAdmin, ReadOnlyAdmin
from tracking.models import BounceMailbox, Event, MailboxMessage


@admin.register(BounceMailbox)
class BounceMailboxAdmin(ReadOnlyAdmin):
    list_display = ("name", "workspace", "protocol", "host", "enabled", "last_polled_at")
    # ReadOnlyAdmin hides "password"; the OAuth2 secrets have names of their own.
    exclude = ("oauth_client_secret", "oauth_refresh_token", "oauth_access_token")


@admin.register(Event)
class EventAdmin(LargeTableAdmin):
    list_display = ("kind", "email", "campaign", "source", "machine", "occurred_at")
    list_select_related = ("campaign",)
    search_fields = ("=email",)


@admin.register(MailboxMessage)
class MailboxMessageAdmin(LargeTableAdmin):
    list_display = ("mailbox", "outcome", "kind", "sender", "subject", "received_at")
