"""The reference for bench_track: the same web server (postroom.web) answering a fixed 200
with no Django and no database, so that a figure of the benchmark can be read against what
this machine (and whatever else runs on it at the time) lets the server answer at all."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import Any

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
HEADERS = [("Content-Type", "image/gif"), ("Content-Length", str(len(PIXEL)))]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [PIXEL]
