"""Renderers the API's resources share."""

from __future__ import annotations

from typing import Any

from rest_framework import renderers


class CsvRenderer(renderers.BaseRenderer):
    """Lets a client that asks for text/csv reach the CSV downloads (streamed by their views).

    Only error bodies come through here: they stay JSON, in the API's error shape.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return bytes(renderers.JSONRenderer().render(data))
