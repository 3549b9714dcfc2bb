"""The API routes of tracking, mounted under /api/ by postroom/api_urls.py."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from tracking.api.mailboxes import BounceMailboxesApi
from tracking.api.reports import CampaignReportApi
from tracking.api.resends import CampaignResendApi

router = SimpleRouter(trailing_slash=True)
router.register("bounce-mailboxes", BounceMailboxesApi, basename="bounce-mailbox")

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "campaigns/<int:campaign_id>/report/",
        CampaignReportApi.as_view(),
        name="campaign-report",
    ),
    path(
        "campaigns/<int:campaign_id>/resend/",
        CampaignResendApi.as_view(),
        name="campaign-resend",
    ),
    *router.urls,
]
