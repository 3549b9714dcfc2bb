"""Admin for sending. Secrets are excluded: the admin never shows or edits them."""

from django.contrib import admin
from django.db import models

from core.readonly_admin import LargeTableAdmin, ReadOnlyAdmin
from sending.models import (
    AccountStatusChange,
    CapturedMessage,
    DkimKey,
    QuotaHold,
    SendBucket,
    SendingAccount,
)


@admin.register(SendingAccount)
class SendingAccountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name",
        "from_email",
        "workspace",
        "kind",
        "status",
        "sent_today",
        "daily_limit",
    )
    list_filter = ("kind", "status")
    search_fields = ("name", "from_email", "workspace__name")
    raw_id_fields = ("workspace",)
    exclude = ("smtp_password", "oauth_client_secret", "oauth_refresh_token", "esp_api_key")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = (
        "sent_today",
        "sent_day",
        "last_sent_at",
        "last_tested_at",
        "status_changed_at",
        "oauth_access_token_expires_at",
        "created_at",
    )


@admin.register(DkimKey)
class DkimKeyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("domain", "selector", "workspace", "created_at")
    search_fields = ("domain", "workspace__name")
    raw_id_fields = ("workspace",)
    readonly_fields = ("public_key", "created_at")


@admin.register(CapturedMessage)
class CapturedMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("subject", "envelope_from", "workspace", "created_at")
    search_fields = ("subject", "envelope_from")
    raw_id_fields = ("workspace", "account")
    readonly_fields = ("envelope_from", "recipients", "subject", "message_id", "created_at")
    exclude = ("raw",)


@admin.register(AccountStatusChange)
class AccountStatusChangeAdmin(LargeTableAdmin):
    list_display = ("account", "workspace", "created_at")


@admin.register(SendBucket)
class SendBucketAdmin(LargeTableAdmin):
    """The per-minute counts of sends: written by the quota, atomically; never by hand."""


@admin.register(QuotaHold)
class QuotaHoldAdmin(ReadOnlyAdmin):
    """Room reserved by a worker for a batch; released by the engine."""
