"""GET /api/recipients/export/: the recipients a query selects, streamed as CSV."""

from __future__ import annotations

from typing import cast

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.api.access import WorkspaceRole, api_access
from audience import selectors
from audience.api.filters import FIELD_HELP, PARAMETERS, recipients_for_query
from audience.exports import csv_lines, recipient_rows
from core.api.renderers import CsvRenderer


class RecipientsExportApi(APIView):
    permission_classes = (WorkspaceRole,)
    renderer_classes = (JSONRenderer, CsvRenderer)

    @extend_schema(
        tags=["recipients"],
        summary="Export recipients as CSV (streamed), with the list's filters",
        description="Columns: the standard fields, status, every custom field, created_at. "
        "Cells a spreadsheet would run as a formula get a leading apostrophe." + FIELD_HELP,
        parameters=PARAMETERS,
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
    )
    def get(self, request: Request) -> HttpResponse:
        workspace = api_access(request).workspace
        qs = recipients_for_query(workspace, request.query_params)
        keys = list(selectors.custom_fields(workspace).values_list("key", flat=True))
        response = StreamingHttpResponse(
            csv_lines(recipient_rows(qs, keys)), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="recipients-{stamp}.csv"'
        return cast(HttpResponse, response)
