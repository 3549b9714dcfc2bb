"""The API routes of content, mounted under /api/ by postroom/api_urls.py."""

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from content.api import views

router = SimpleRouter(trailing_slash=True)
router.register("templates", views.TemplatesApi, basename="template")
router.register(
    r"templates/(?P<template_id>[0-9]+)/attachments",
    views.TemplateAttachmentsApi,
    basename="template-attachment",
)

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
