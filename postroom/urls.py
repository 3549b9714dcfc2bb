from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.audit import views as audit_views
from accounts.keys.views import api_key_revoke, api_keys
from campaigns.views import dashboard
from content import views as content_views
from postroom import metrics, views

# djangoMailer's addresses (seeds/djangomailer.md), for its users' bookmarks and habits: each
# leads to Postroom's page for the same thing. Its SMTP settings lived on the profile page.
SEED_REDIRECTS = [
    path("recipients/upload/", RedirectView.as_view(pattern_name="audience:import")),
    path("templates/create/", RedirectView.as_view(pattern_name="content:create")),
    path("profile/edit/", RedirectView.as_view(pattern_name="sending:index")),
]

urlpatterns = [
    *SEED_REDIRECTS,
    path("health", views.health, name="health"),
    path("ready", views.ready, name="ready"),
    path("metrics", metrics.metrics, name="metrics"),
    path("", dashboard, name="dashboard"),
    path("", include("accounts.urls")),
    path("", include("campaigns.urls")),
    path("", include("tracking.urls")),
    path("", include("automation.urls")),
    path("", include("notifications.urls")),
    path("platform/campaigns/", include("campaigns.platform_urls")),
    path("platform/", include("accounts.platform_urls")),
    path("recipients/", include("audience.urls")),
    path("templates/", include("content.urls")),
    # Library images, public for recipients' mail programs (content.views.image_file).
    path("images/<int:workspace_id>/<str:name>", content_views.image_file, name="content_image"),
    path("sending-accounts/", include("sending.urls")),
    path("settings/api-keys/", api_keys, name="api_keys"),
    path("settings/audit-log/", audit_views.workspace_log, name="audit_log"),
    path("settings/api-keys/<int:api_key_id>/revoke/", api_key_revoke, name="api_key_revoke"),
    path("settings/webhooks/", include("webhooks.urls")),
    path("signup-forms/", include("subscriptions.urls")),
    path("s/", include("subscriptions.urls_public")),
    path("", include("subscriptions.urls_preferences")),
    path("archive/", include("archive.urls")),
    path("api/", include("postroom.api_urls")),
    path("admin/", admin.site.urls),
]
