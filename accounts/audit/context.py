"""Who is acting: the request being served, set by `AuditContextMiddleware`.

The request itself is kept, not its user: the API authenticates inside the view (an API key,
a JWT), after every middleware has run, and DRF then sets the user on the Django request, so
reading `request.user` when the action is recorded sees whoever the view authenticated.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

current_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)
