"""The API routes of automation, mounted under /api/ by postroom/api_urls.py."""

from django.urls import URLPattern, URLResolver, path

from automation.api.ab_tests import CampaignAbTestApi, CampaignAbTestChooseApi
from automation.api.sequences import (
    SequenceActivateApi,
    SequenceDetailApi,
    SequenceEnrolApi,
    SequenceEnrollmentsApi,
    SequenceListApi,
    SequencePauseApi,
    SequenceStepApi,
    SequenceStepsApi,
)

urlpatterns: list[URLPattern | URLResolver] = [
    path("campaigns/<int:campaign_id>/ab-test/", CampaignAbTestApi.as_view(), name="ab-test"),
    path(
        "campaigns/<int:campaign_id>/ab-test/choose/",
        CampaignAbTestChooseApi.as_view(),
        name="ab-test-choose",
    ),
    path("sequences/", SequenceListApi.as_view(), name="sequences"),
    path("sequences/<int:sequence_id>/", SequenceDetailApi.as_view(), name="sequence"),
    path("sequences/<int:sequence_id>/steps/", SequenceStepsApi.as_view(), name="sequence-steps"),
    path(
        "sequences/<int:sequence_id>/steps/<int:step_id>/",
        SequenceStepApi.as_view(),
        name="sequence-step",
    ),
    path(
        "sequences/<int:sequence_id>/activate/",
        SequenceActivateApi.as_view(),
        name="sequence-activate",
    ),
    path("sequences/<int:sequence_id>/pause/", SequencePauseApi.as_view(), name="sequence-pause"),
    path("sequences/<int:sequence_id>/enrol/", SequenceEnrolApi.as_view(), name="sequence-enrol"),
    path(
        "sequences/<int:sequence_id>/enrollments/",
        SequenceEnrollmentsApi.as_view(),
        name="sequence-enrollments",
    ),
]
