"""The API's documentation page."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its start script served apart, so the page runs under a strict CSP.

    Swagger UI sets style attributes on the elements it draws, so this page alone allows
    inline styles; scripts stay 'self' only.
    """

    template_name = "api/docs.html"  # the package's page, with <html lang>

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response: Response = super().get(request, *args, **kwargs)  # type: ignore[no-untyped-call]
        response["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
            "frame-ancestors 'none'"
        )
        return response
