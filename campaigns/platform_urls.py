"""The platform console's campaigns, mounted at /platform/campaigns/ by postroom/urls.py
(accounts, below campaigns, does not know them)."""

from django.urls import path

from campaigns import platform_views as views

app_name = "platform_campaigns"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:campaign_id>/disable/", views.disable, name="disable"),
    path("<int:campaign_id>/enable/", views.enable, name="enable"),
]
