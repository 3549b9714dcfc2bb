"""The API routes of automation, mounted under /api/ by postroom/api_urls.py."""

from django.urls import URLPattern, URLResolver, path

from automation.api.ab_tests import CampaignAbTestApi, CampaignAbTestChooseApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("campaigns/<int:campaign_id>/ab-test/", CampaignAbTestApi.as_view(), name="ab-test"),
    path(
        "campaigns/<int:campaign_id>/ab-test/choose/",
        CampaignAbTestChooseApi.as_view(),
        name="ab-test-choose",
    ),
]
