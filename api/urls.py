"""The REST API under /api/. Each app's API views are mounted here, so this is the one map."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from api import auth_views, emailer_views, user_views, workspace_views
from api.schema import DocsView

app_name = "api"

router = SimpleRouter()
router.register("members", user_views.MembersApi, basename="members")
router.register("staff", user_views.StaffApi, basename="staff")
router.register("non-staff", user_views.NonStaffApi, basename="non-staff")

urlpatterns = [
    path("login/", auth_views.LoginApi.as_view(), name="login"),
    path("token/refresh/", auth_views.TokenRefreshApi.as_view(), name="token_refresh"),
    path("token/verify/", auth_views.TokenVerifyApi.as_view(), name="token_verify"),
    path("me/", workspace_views.MeApi.as_view(), name="me"),
    path("test/emailer/", emailer_views.EmailerTestApi.as_view(), name="test_emailer"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
    # Each app's resources; the included lists carry no namespace, so every name is "api:…".
    path("", include("audience.api_urls")),
    path("", include("content.api_urls")),
    path("", include("sending.api_urls")),
    path("", include("campaigns.api_urls")),
    path("", include("webhooks.api_urls")),
]
