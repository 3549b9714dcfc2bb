"""The key that marks our own htmx elements, so that planted ones cannot send requests.

htmx acts on any `hx-*` attribute in the page, whoever wrote it, and a strict CSP does not stop
it. Our templates put `data-postroom-htmx="{{ htmx_key }}"` on each element that may send a
request, and static/js/app.js cancels every request from an element without the page's key
(`<meta name="htmx-key">`) or inside an `hx-disable` region. Stored markup cannot carry the key:
it is derived from the visitor's CSRF secret, so it differs per browser and is as secret as the
CSRF token the page already holds; it stays the same across the pages and partials of a session,
so elements swapped in by htmx carry the same key as the page around them.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils.crypto import salted_hmac

SALT = "postroom.htmx-key"


def htmx_key(request: HttpRequest) -> str:
    get_token(request)  # makes sure the request has a CSRF secret, and sends its cookie
    secret = str(request.META.get("CSRF_COOKIE", ""))
    return salted_hmac(SALT, secret, algorithm="sha256").hexdigest()[:32]


def context(request: HttpRequest) -> dict[str, str]:
    """Template context processor: `htmx_key` for head.html and the elements that use htmx."""
    return {"htmx_key": htmx_key(request)}
