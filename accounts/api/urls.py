"""The API routes of accounts, mounted under /api/ by postroom/api_urls.py."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from accounts.api import auth, users, workspace_settings, workspaces
from accounts.audit.api import AuditLogApi

router = SimpleRouter()
router.register("members", users.MembersApi, basename="members")
router.register("staff", users.StaffApi, basename="staff")
router.register("non-staff", users.NonStaffApi, basename="non-staff")
router.register("audit-log", AuditLogApi, basename="audit-log")

# Sign-in and the caller come first, as they did when /api/'s map listed them by hand.
auth_urlpatterns: list[URLPattern | URLResolver] = [
    path("login/", auth.LoginApi.as_view(), name="login"),
    path("token/refresh/", auth.TokenRefreshApi.as_view(), name="token_refresh"),
    path("token/verify/", auth.TokenVerifyApi.as_view(), name="token_verify"),
    path("me/", workspaces.MeApi.as_view(), name="me"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("workspace/", workspace_settings.WorkspaceSettingsApi.as_view(), name="workspace"),
    path(
        "workspace/archive-key/",
        workspace_settings.WorkspaceArchiveKeyApi.as_view(),
        name="workspace-archive-key",
    ),
    *router.urls,
]
