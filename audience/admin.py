"""Read-only admin pages for the audience: imports and segments go through their services."""

from django.contrib import admin

from audience.models import (
    AudienceJob,
    Consent,
    CustomField,
    ImportRejection,
    ListMembership,
    Recipient,
    RecipientList,
    Segment,
    Suppression,
)
from core.readonly_admin import LargeTableAdmin, ReadOnlyAdmin


@admin.register(Recipient)
class RecipientAdmin(LargeTableAdmin):
    list_display = ("email", "workspace", "status", "first_name", "last_name", "created_at")
    list_filter = ("status",)
    list_select_related = ("workspace",)
    search_fields = ("=email",)  # exact: a fragment would scan millions of rows


@admin.register(ListMembership)
class ListMembershipAdmin(LargeTableAdmin):
    list_display = ("recipient", "recipient_list", "added_at")
    list_select_related = ("recipient", "recipient_list")


@admin.register(RecipientList)
class RecipientListAdmin(ReadOnlyAdmin):
    list_display = ("name", "workspace", "created_at")
    search_fields = ("name", "workspace__name")


@admin.register(CustomField)
class CustomFieldAdmin(ReadOnlyAdmin):
    list_display = ("key", "label", "type", "workspace")


@admin.register(Segment)
class SegmentAdmin(ReadOnlyAdmin):
    list_display = ("name", "workspace", "created_at")


@admin.register(Suppression)
class SuppressionAdmin(LargeTableAdmin):
    list_display = ("email", "workspace", "reason", "source", "created_at")
    list_filter = ("reason",)
    search_fields = ("=email",)


@admin.register(AudienceJob)
class AudienceJobAdmin(ReadOnlyAdmin):
    list_display = (
        "kind",
        "status",
        "workspace",
        "file_name",
        "processed",
        "rejected",
        "created_at",
    )
    list_filter = ("kind", "status")


@admin.register(ImportRejection)
class ImportRejectionAdmin(LargeTableAdmin):
    list_display = ("job", "line", "email", "reason")


@admin.register(Consent)
class ConsentAdmin(LargeTableAdmin):
    """Proof of consent: written by sign-ups, never edited."""
