"""A WSGI app for test_web_server: answers the names in its request's environ, behind the
same wrapper postroom.wsgi puts in front of Django."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from postroom.serving import WithoutProcessEnvironment


def echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = json.dumps(sorted(environ)).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


application = WithoutProcessEnvironment(echo)
