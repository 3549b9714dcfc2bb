"""A strict Content-Security-Policy on every response that does not bring its own.

Every script and stylesheet is served by the app itself (no CDN, no inline script; htmx's
inline indicator styles are switched off in the page head), so `'self'` is all a page needs.
Views that show user content (template previews, captured messages, view-in-browser) set a
tighter policy of their own, which is kept.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors {ancestors}"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response:
            # Follow X-Frame-Options: pages framed by our own pages say SAMEORIGIN.
            same_origin = response.get("X-Frame-Options", "").upper() == "SAMEORIGIN"
            response[HEADER] = POLICY.format(ancestors="'self'" if same_origin else "'none'")
        return response
