"""The API routes of sending, mounted under /api/ by postroom/api_urls.py."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from sending.api import views

router = SimpleRouter(trailing_slash=True)
router.register("email-accounts", views.EmailAccountsApi, basename="email-account")
router.register("dkim-keys", views.DkimKeysApi, basename="dkim-key")
router.register("captured-messages", views.CapturedMessagesApi, basename="captured-message")

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "email-accounts/<int:account_id>/test-connection/",
        views.AccountTestConnectionApi.as_view(),
        name="email_account_test_connection",
    ),
    path(
        "templates/<int:template_id>/test-send/",
        views.TemplateTestSendApi.as_view(),
        name="template_test_send",
    ),
    *router.urls,
]
