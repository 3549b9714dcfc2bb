from django.contrib import admin
from django.urls import include, path

from campaigns.views import dashboard
from postroom import views

urlpatterns = [
    path("health", views.health, name="health"),
    path("ready", views.ready, name="ready"),
    path("", dashboard, name="dashboard"),
    path("", include("accounts.urls")),
    path("", include("campaigns.urls")),
    path("platform/", include("accounts.platform_urls")),
    path("recipients/", include("audience.urls")),
    path("templates/", include("content.urls")),
    path("sending-accounts/", include("sending.urls")),
    path("admin/", admin.site.urls),
]
