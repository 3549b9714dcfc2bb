"""The REST API under /api/: each app's routes are mounted here, so this is the one map.

The included lists carry no namespace, so every name is "api:…".
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from accounts.api.urls import auth_urlpatterns
from campaigns.api.emailer import EmailerTestApi
from core.api.docs import DocsView

app_name = "api"

urlpatterns = [
    *auth_urlpatterns,
    path("test/emailer/", EmailerTestApi.as_view(), name="test_emailer"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    path("", include("accounts.api.urls")),
    path("", include("audience.api.urls")),
    path("", include("content.api.urls")),
    path("", include("sending.api.urls")),
    path("", include("campaigns.api.urls")),
    path("", include("tracking.api.urls")),
    path("", include("automation.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("subscriptions.api.urls")),
]
