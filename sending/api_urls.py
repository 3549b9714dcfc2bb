"""The API routes of sending, mounted under /api/ by api/urls.py."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from sending import apis

router = SimpleRouter(trailing_slash=True)
router.register("email-accounts", apis.EmailAccountsApi, basename="email-account")
router.register("dkim-keys", apis.DkimKeysApi, basename="dkim-key")
router.register("captured-messages", apis.CapturedMessagesApi, basename="captured-message")

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "email-accounts/<int:account_id>/test-connection/",
        apis.AccountTestConnectionApi.as_view(),
        name="email_account_test_connection",
    ),
    path(
        "templates/<int:template_id>/test-send/",
        apis.TemplateTestSendApi.as_view(),
        name="template_test_send",
    ),
    *router.urls,
]
