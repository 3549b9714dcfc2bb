"""Settings → Webhooks, mounted at /settings/webhooks/ by postroom/urls.py."""

from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:endpoint_id>/", views.endpoint_detail, name="endpoint"),
    path("<int:endpoint_id>/rotate-secret/", views.endpoint_rotate, name="rotate"),
    path("<int:endpoint_id>/test/", views.endpoint_test, name="test"),
    path("<int:endpoint_id>/active/", views.endpoint_active, name="active"),
    path("<int:endpoint_id>/delete/", views.endpoint_delete, name="delete"),
    path("requests/<int:event_id>/retry/", views.event_retry, name="retry"),
]
