from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.index, name="index"),
    path("notifications/read-all/", views.mark_all_read, name="read_all"),
    path("notifications/<int:notification_id>/read/", views.mark_read, name="read"),
    path("accounts/profile/notifications/", views.email_settings, name="email_settings"),
]
