"""Logging of the development server (`manage.py serve`, what `make run` starts).

Its console is where a new user looks for the sign-up confirmation link (system mail is
printed there in development): an access-log line for every stylesheet, script and icon
would bury it, so requests for static files are not logged. Every other request still is.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

QUIET_PREFIXES = ("/static/", "/favicon.ico")


class QuietStaticLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger without the access lines of static files."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if str(environ.get("PATH_INFO", "")).startswith(QUIET_PREFIXES):
            return
        super().access(resp, req, environ, request_time)
