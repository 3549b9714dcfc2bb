"""The API routes of webhooks, mounted under /api/ by postroom/api_urls.py."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from webhooks.api.views import WebhookDeliveriesApi, WebhookEndpointsApi

router = SimpleRouter(trailing_slash=True)
router.register("webhooks", WebhookEndpointsApi, basename="webhooks")

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "webhooks/<int:endpoint_id>/deliveries/",
        WebhookDeliveriesApi.as_view({"get": "list"}),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<int:event_id>/",
        WebhookDeliveriesApi.as_view({"get": "retrieve"}),
        name="webhook-delivery",
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<int:event_id>/retry/",
        WebhookDeliveriesApi.as_view({"post": "retry"}),
        name="webhook-delivery-retry",
    ),
    *router.urls,
]
