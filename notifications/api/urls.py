"""The API routes of notifications, mounted under /api/ by postroom/api_urls.py."""

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from notifications.api.views import NotificationsApi

router = SimpleRouter(trailing_slash=True)
router.register("notifications", NotificationsApi, basename="notifications")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
