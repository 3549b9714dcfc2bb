"""The open pixel and tracked links, served before the middleware made for people's pages.

A hit comes from a mail client or a proxy: no session, no sign-in, no CSRF form, no workspace
switch, no messages, no htmx. Each of those middlewares costs CPU on every request (the session
and auth ones a lookup too), and hits are the most frequent requests the site gets, so this
middleware answers them itself: placed after SecurityMiddleware (HTTPS redirect, its headers)
and the request metrics, it matches the two routes by their path and calls their views.
Everything else goes on through the chain untouched.

The served application (postroom.wsgi) answers hits before Django even sees them, in groups
(postroom.hit_front, tracking.recorder); this middleware answers those that reach Django's
handler all the same (the test client, `runserver`), one by one, with the same outcome.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.urls import ResolverMatch, reverse

from core.digits import is_number
from tracking import views

_MARK = "TOKEN"


@functools.cache
def _prefixes() -> tuple[str, str]:
    """The paths of the pixel and of link 0 with their token left out (from urls.py, so a
    change of the routes is followed)."""
    pixel = reverse("tracking:open", kwargs={"token": _MARK})
    link = reverse("tracking:click", kwargs={"token": _MARK, "index": 0})
    return pixel.split(_MARK)[0], link.split(_MARK)[0]


def route(path: str) -> tuple[str, str, int | None] | None:
    """("open", token, None) or ("click", token, index) for a hit's path, else None."""
    pixel, link = _prefixes()
    if path.startswith(pixel) and path.endswith("/"):
        token = path[len(pixel) : -1]
        if token and "/" not in token:
            return "open", token, None
    if path.startswith(link):
        token, _, index = path[len(link) :].rpartition("/")
        if token and "/" not in token and is_number(index):
            return "click", token, int(index)
    return None


class TrackingHitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        found = route(request.path_info)
        if found is None:
            return self.get_response(request)
        name, token, index = found
        kwargs: dict[str, Any] = {"token": token}
        if name == "click":
            kwargs["index"] = index
        view = views.open_pixel if name == "open" else views.click
        # what the request metrics label it by, as the resolver would have set it
        request.resolver_match = ResolverMatch(
            view, (), kwargs, url_name=name, app_names=["tracking"], namespaces=["tracking"]
        )
        try:
            response: HttpResponse = view(request, **kwargs)
        except Http404:
            response = HttpResponseNotFound("Not found", content_type="text/plain")
        return response
