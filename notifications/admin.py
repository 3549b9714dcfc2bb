from django.contrib import admin

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = ("kind", "subject_name", "user", "workspace", "created_at", "read_at")
    list_filter = ("kind",)
    raw_id_fields = ("user", "workspace")
