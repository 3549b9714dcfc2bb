"""Opens and clicks answered in front of Django, their events written in groups.

Hits are the site's most frequent requests, and on a 2-core machine Django's request handling
(request and response objects, the middleware chain, signals, a connection health check per
request) cost more CPU than the hit itself. This WSGI layer answers a GET or HEAD of the pixel
or of a tracked link itself, through `tracking.recorder` (one writer thread per process: one
read, one INSERT, one commit for every hit waiting; a hit is answered after its commit).
What it keeps of the Django path (`tracking.middleware`, the same views): the same routes,
answers, headers (SecurityMiddleware's, from the same settings) and 404 for a forged token or
a missing delivery or link; HEAD records nothing; the request histogram
(postroom_http_request_duration_seconds) labelled as Django labels it. Anything else goes to
Django untouched: other paths and methods, and a hit that must first be sent to HTTPS (the
redirect is SecurityMiddleware's, with its host checks).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils import timezone

from campaigns import links
from core.client_ip import client_ip
from postroom.metrics import REQUEST_SECONDS
from tracking import batch, recorder
from tracking.middleware import route
from tracking.views import PIXEL_GIF

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

NOT_FOUND = b"Not found"
UNAVAILABLE = b"Service unavailable: try again"
_REASONS = {200: "OK", 302: "Found", 404: "Not Found", 503: "Service Unavailable"}


class HitFront:
    """A WSGI application: hits answered here, everything else by `app` (Django's)."""

    def __init__(self, app: WSGIApp, ask: Callable[[batch.Ask], batch.Answer] = recorder.ask):
        self.app = app
        self.ask = ask

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        found = route(environ.get("PATH_INFO", "")) if method in ("GET", "HEAD") else None
        if found is None or _must_redirect(environ):
            return self.app(environ, start_response)
        started = time.perf_counter()
        name, token, index = found
        status, headers, body = self._hit(environ, method, token, index)
        secure = _secure(environ)
        headers.extend(_security_headers(secure))
        if name == "click" and status == 302:
            # the view's own, which SecurityMiddleware leaves as it is
            headers = [h for h in headers if h[0] != "Referrer-Policy"]
            headers.append(("Referrer-Policy", "no-referrer"))
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {_REASONS[status]}", headers)
        _observe(name, method, status, time.perf_counter() - started)
        return [b"" if method == "HEAD" else body]

    def _hit(
        self, environ: dict[str, Any], method: str, token: str, index: int | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        delivery_id = links.delivery_of(token)
        if delivery_id is None:  # forged: nothing to read
            return _not_found()
        ask = batch.Ask(
            delivery_id=delivery_id,
            index=index,
            user_agent=environ.get("HTTP_USER_AGENT", ""),
            ip=client_ip(_Meta(environ)),
            at=timezone.now(),
            record=method == "GET",
        )
        try:
            answer = self.ask(ask)
        except recorder.Unrecorded:
            return 503, [("Content-Type", "text/plain"), ("Retry-After", "1")], UNAVAILABLE
        if not answer.found:
            return _not_found()
        if index is None:
            return (
                200,
                [("Content-Type", "image/gif"), ("Cache-Control", "no-store, private")],
                (PIXEL_GIF),
            )
        return (
            302,
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Location", answer.url),
                ("Cache-Control", "no-store, private"),
            ],
            b"",
        )


class _Meta:
    """What `client_ip` reads of a request."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self.META = environ


def _not_found() -> tuple[int, list[tuple[str, str]], bytes]:
    return 404, [("Content-Type", "text/plain")], NOT_FOUND


def _secure(environ: dict[str, Any]) -> bool:
    """`HttpRequest.is_secure()` for this environ."""
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        header, secure_value = proxy
        value = environ.get(header)
        if value is not None:
            return str(value).split(",", 1)[0].strip() == secure_value
    return bool(environ.get("wsgi.url_scheme") == "https")


def _must_redirect(environ: dict[str, Any]) -> bool:
    # hit paths are never among SECURE_REDIRECT_EXEMPT (health, ready, metrics)
    return bool(settings.SECURE_SSL_REDIRECT) and not _secure(environ)


@functools.cache
def _security_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    """What SecurityMiddleware adds to a hit's answer (the Django path puts the hit after it)."""
    headers = []
    if settings.SECURE_HSTS_SECONDS and secure:
        sts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            sts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            sts += "; preload"
        headers.append(("Strict-Transport-Security", sts))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:
        values = policy.split(",") if isinstance(policy, str) else policy
        headers.append(("Referrer-Policy", ",".join(v.strip() for v in values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    return tuple(headers)


def _forget_security_headers(*, setting: str, **kwargs: Any) -> None:
    # settings are fixed in a running site; tests override them between hits
    if setting.startswith("SECURE_"):
        _security_headers.cache_clear()


setting_changed.connect(_forget_security_headers)


@functools.cache
def _histogram(name: str, method: str, status: int) -> Any:
    return REQUEST_SECONDS.labels(f"tracking:{name}", method, str(status))


def _observe(name: str, method: str, status: int, seconds: float) -> None:
    _histogram(name, method, status).observe(seconds)
