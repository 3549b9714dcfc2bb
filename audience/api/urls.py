"""The API routes of audience, mounted under /api/ by postroom/api_urls.py."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from audience.api import bulk, export, fields, jobs, lists, recipients, segments, suppressions

router = SimpleRouter(trailing_slash=True)
router.register("recipients", recipients.RecipientsApi, basename="recipients")
router.register("custom-fields", fields.CustomFieldsApi, basename="custom-fields")
router.register("lists", lists.ListsApi, basename="lists")
router.register("segments", segments.SegmentsApi, basename="segments")
router.register("suppressions", suppressions.SuppressionsApi, basename="suppressions")
router.register("imports", jobs.ImportsApi, basename="imports")
router.register("bulk-jobs", jobs.BulkJobsApi, basename="bulk-jobs")

urlpatterns: list[URLPattern | URLResolver] = [
    # Before the router's routes, so that these names are never taken for an id.
    path("recipients/bulk/", bulk.RecipientsBulkUpsertApi.as_view(), name="recipients-bulk"),
    path(
        "recipients/bulk-action/",
        bulk.RecipientsBulkActionApi.as_view(),
        name="recipients-bulk-action",
    ),
    path("recipients/export/", export.RecipientsExportApi.as_view(), name="recipients-export"),
    *router.urls,
]
