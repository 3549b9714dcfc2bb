"""How often one person may render previews: a template repeating a long value is slow to
render even within the size limit, and viewers may preview, so previews have a budget of their
own (PREVIEW_RATE), shared by the API's preview and the editor's preview pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import SimpleRateThrottle

from accounts.keys.models import ApiKey


class PreviewRateThrottle(SimpleRateThrottle):
    """One budget per API key or per user, for the API and the pages alike."""

    scope = "preview"

    def get_rate(self) -> str:
        return str(settings.PREVIEW_RATE)  # read per request, so that it can be changed

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        auth = getattr(request, "auth", None)  # a page's HttpRequest has no `auth`
        if isinstance(auth, ApiKey):
            ident = f"key:{auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def preview_wait(request: HttpRequest) -> float | None:
    """None when a page may render a preview now (and it is counted); else the seconds to
    wait."""
    throttle = PreviewRateThrottle()
    # SimpleRateThrottle reads only `user` and META of the request, which a page's has too.
    if throttle.allow_request(request, None):  # type: ignore[arg-type]
        return None
    return throttle.wait() or 1.0
