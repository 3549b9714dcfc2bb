"""Read-only admin pages for campaigns: starting, pausing and the outbox go through services."""

from django.contrib import admin

from campaigns.models import (
    AbTest,
    Attempt,
    Campaign,
    CampaignStatusChange,
    DayTally,
    Delivery,
    ResendRecipient,
    SentTally,
    Variant,
    WorkerHeartbeat,
)
from core.readonly_admin import LargeTableAdmin, ReadOnlyAdmin


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ("name", "workspace", "status", "audience_total", "launched_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("workspace",)
    search_fields = ("name", "workspace__name")
    exclude = ("content",)  # the frozen message: large, and personal data in the preview


@admin.register(Delivery)
class DeliveryAdmin(LargeTableAdmin):
    list_display = ("email", "campaign", "status", "attempts", "next_attempt_at", "sent_at")
    list_select_related = ("campaign",)
    search_fields = ("=email", "=message_id")


@admin.register(Attempt)
class AttemptAdmin(LargeTableAdmin):
    list_display = ("email", "campaign", "outcome", "smtp_code", "enhanced_code", "created_at")
    list_select_related = ("campaign",)
    search_fields = ("=email", "=message_id")


@admin.register(CampaignStatusChange)
class CampaignStatusChangeAdmin(LargeTableAdmin):
    list_display = (
        "campaign_name",
        "workspace",
        "previous_status",
        "status",
        "reason",
        "created_at",
    )


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "started_at", "seen_at")


@admin.register(ResendRecipient)
class ResendRecipientAdmin(LargeTableAdmin):
    """The fixed audience of a resend, written when the resend is made."""


@admin.register(AbTest)
class AbTestAdmin(ReadOnlyAdmin):
    """A campaign's A/B test: the winner is chosen by the duty or on the campaign's page."""

    list_display = ("campaign", "workspace", "kind", "criterion", "state", "winner", "decided_at")
    list_filter = ("state", "kind")
    list_select_related = ("campaign", "workspace", "winner")


@admin.register(Variant)
class VariantAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "position", "value")
    list_select_related = ("campaign",)


@admin.register(SentTally)
class SentTallyAdmin(ReadOnlyAdmin):
    """A frozen campaign's sent messages per domain and account, kept for its report."""

    list_display = ("campaign", "domain", "account", "sent")
    list_select_related = ("campaign", "account")


@admin.register(DayTally)
class DayTallyAdmin(ReadOnlyAdmin):
    """A workspace's attempts of one past day per dashboard group, kept for the dashboard."""

    list_display = ("workspace", "day", "zone", "sent", "retried", "failed", "suppressed")
    list_select_related = ("workspace",)
