from __future__ import annotations

from typing import Any

from webhooks.models import Endpoint
from webhooks.services import endpoint_create


def make_endpoint(workspace: Any, url: str, events: list[str] | None = None) -> Endpoint:
    return endpoint_create(workspace=workspace, url=url, events=events or ["*"]).endpoint
