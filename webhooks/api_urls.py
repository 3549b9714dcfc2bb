"""The API routes of webhooks, mounted under /api/ by api/urls.py."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
