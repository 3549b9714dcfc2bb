from django.contrib import admin
from django.urls import include, path

from api.views import api_key_revoke, api_keys
from campaigns.views import dashboard
from postroom import views

urlpatterns = [
    path("health", views.health, name="health"),
    path("ready", views.ready, name="ready"),
    path("", dashboard, name="dashboard"),
    path("", include("accounts.urls")),
    path("", include("campaigns.urls")),
    path("", include("tracking.urls")),
    path("platform/", include("accounts.platform_urls")),
    path("recipients/", include("audience.urls")),
    path("templates/", include("content.urls")),
    path("sending-accounts/", include("sending.urls")),
    path("settings/api-keys/", api_keys, name="api_keys"),
    path("settings/api-keys/<int:api_key_id>/revoke/", api_key_revoke, name="api_key_revoke"),
    path("settings/webhooks/", include("webhooks.urls")),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
]
