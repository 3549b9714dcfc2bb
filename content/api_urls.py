"""The API routes of content, mounted under /api/ by api/urls.py."""

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from content import apis

router = SimpleRouter(trailing_slash=True)
router.register("templates", apis.TemplatesApi, basename="template")
router.register(
    r"templates/(?P<template_id>[0-9]+)/attachments",
    apis.TemplateAttachmentsApi,
    basename="template-attachment",
)

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
