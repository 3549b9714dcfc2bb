"""A step that the cache (Redis) guards answers 503 with a clear message while the cache cannot
be reached, not a server error.

The counters that guard (the token endpoint's and sign-ups' limits, password-reset mails,
two-factor failures) read the cache directly and fail closed (core.soft_cache says why): the
step is refused until the cache is back. Refused, it used to end in a 500 page that said
nothing of what to do. A page gets a short page that says to try again in a minute; the API
gets its error shape. Nothing is done: the exception came before the step's work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_SECONDS = 60


def outage_text() -> str:
    return _(
        "Postroom cannot reach its cache just now, and this step needs it: it counts the "
        "attempts that keep this step safe. Nothing was done. Please try again in a minute."
    )


class CacheOutageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, RedisError):
            return None
        logger.warning("cache unreachable, %s refused with 503: %s", request.path, exception)
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": outage_text()}, status=503)
        else:
            page = render_to_string("503.html", {"text": outage_text()}, request=None)
            response = HttpResponse(page, status=503)
        response["Retry-After"] = str(RETRY_SECONDS)
        return response
