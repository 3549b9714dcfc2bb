"""The preference centre's public addresses (namespace "preferences"): `/p/<token>/` from a
campaign's message, `/t/p/<token>/` from a test send's (beside tracking's `/t/u/`, `/t/v/`)."""

from django.urls import path

from subscriptions import preferences_views

app_name = "preferences"

urlpatterns = [
    path("p/<str:token>/", preferences_views.page, name="page"),
    path("t/p/<str:token>/", preferences_views.test_page, name="test"),
]
