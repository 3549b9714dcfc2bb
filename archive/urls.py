"""Public addresses of the campaign archive, mounted under /archive/ (namespace "archive")."""

from django.urls import path

from archive import views

app_name = "archive"

urlpatterns = [
    path("<str:archive_key>/", views.index, name="index"),
    path("<str:archive_key>/feed/", views.feed, name="feed"),
    path("<str:archive_key>/<int:campaign_id>/", views.campaign, name="campaign"),
]
