"""The API routes of campaigns, mounted under /api/ by postroom/api_urls.py."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from campaigns.api.campaigns import CampaignReportCsvApi, CampaignsApi
from campaigns.api.deliveries import AttemptsApi, DashboardApi, DeliveriesApi, MessageQueueApi
from campaigns.api.email_burst import EmailBurstsApi
from campaigns.api.platform import PlatformCampaignsApi

router = SimpleRouter(trailing_slash=True)
router.register("campaigns", CampaignsApi, basename="campaigns")
# The Emailer System's name for the same campaigns.
router.register("email-burst", EmailBurstsApi, basename="email-burst")
router.register("deliveries", DeliveriesApi, basename="deliveries")
router.register("attempts", AttemptsApi, basename="attempts")
# Every workspace's campaigns, for platform managers only.
router.register("platform/campaigns", PlatformCampaignsApi, basename="platform-campaigns")

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "campaigns/<int:campaign_id>/report.csv",
        CampaignReportCsvApi.as_view(),
        name="campaign-report-csv",
    ),
    path("messages/", MessageQueueApi.as_view(), name="messages"),
    path("dashboard/", DashboardApi.as_view(), name="dashboard"),
    *router.urls,
]
