"""The API routes of sign-up forms and the preference centre, mounted under /api/ by
postroom/api_urls.py."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from subscriptions.api import forms, preferences, public

router = SimpleRouter(trailing_slash=True)
router.register("signup-forms", forms.SignupFormsApi, basename="signup-forms")

urlpatterns: list[URLPattern | URLResolver] = [
    path("signup-forms/confirm/", public.ConfirmApi.as_view(), name="signup-confirm"),
    path(
        "signup-forms/public/<str:form_key>/subscribe/",
        public.SubscribeApi.as_view(),
        name="signup-subscribe",
    ),
    path(
        "public/preferences/<str:token>/",
        preferences.PreferencesApi.as_view(),
        name="preferences",
    ),
    *router.urls,
]
