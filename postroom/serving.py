"""What the web server (postroom.web) needs of ours: a quieter development console, and
request environments without the process's environment variables."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

QUIET_PREFIXES = ("/static/", "/favicon.ico")

# The request variables of CGI and WSGI: these come from the request, never from the process.
REQUEST_VARIABLES = frozenset(
    {
        "CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE", "PATH_INFO", "QUERY_STRING",
        "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_PORT", "REQUEST_METHOD", "REQUEST_URI",
        "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE",
    }
)  # fmt: skip


class QuietStatic(logging.Filter):
    """Drops the access lines of static files (granian's access records carry the request's
    fields as their arguments). The development console is where a new user looks for the
    sign-up confirmation link: a line for every stylesheet, script and icon would bury it."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.args if isinstance(record.args, dict) else {}
        return not str(fields.get("path", "")).startswith(QUIET_PREFIXES)


class ManyThreadsChosen(logging.Filter):
    """Drops granian's warning of many Python threads per process: postroom.web chooses them
    on purpose (hits wait on their process's writer together)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Configuration allows spawning up to")


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WithoutProcessEnvironment:
    """Removes the process's environment variables from each request's environ.

    granian, like wsgiref and CGI, starts every request's environ from `os.environ`. Django
    would then carry SECRET_KEY, DATABASE_URL (with its password) and the rest in
    `request.META`, where error reports show it. The names are taken once at start; request
    headers (HTTP_*) and the CGI request variables are never removed, as they come from the
    request itself.
    """

    def __init__(self, app: WSGIApp, environment: Iterable[str] | None = None) -> None:
        self.app = app
        names = os.environ if environment is None else environment
        self.names = tuple(
            name
            for name in names
            if not name.startswith(("HTTP_", "wsgi.")) and name not in REQUEST_VARIABLES
        )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        for name in self.names:
            environ.pop(name, None)
        return self.app(environ, start_response)
