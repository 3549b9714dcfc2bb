"""Postroom's web server: granian serving `postroom.wsgi` (`python -m postroom.web`).

The image, `manage.py serve` (what `make run` starts) and the production check all start the
web server here, so its settings live in one place.

Why granian and not gunicorn: granian parses HTTP and keeps connections in Rust and calls the
WSGI application on a pool of Python threads, where gunicorn's gthread worker does all of that
in Python under the GIL. The profile of an open or click hit showed gunicorn's own machinery
taking about 45 % of a worker's GIL time; with granian, the web process's CPU per hit halved
(bench-track, same machine, alternating runs: 257-260 µs against 474-550 µs) and hits went
from 2,120-2,412 to 3,488-3,547 a second. Pages gain the same per-request saving.

Threads, not processes, for the many requests that wait: an open or a click waits on its
process's hit writer (postroom.hit_front, tracking.recorder), and the more hits of a process
wait together, the more go in one group (one read, one INSERT, one commit). 16 threads per
worker let about 8 hits share a group under load; pages gain nothing from more. Workers:
about one per core.

Metrics: every process writes its counters and histograms to PROMETHEUS_MULTIPROC_DIR, where
they must outlive the process (they count what it did). No metric of ours is a live gauge
(postroom/tests/test_deploy.py checks it), so a worker that exits leaves nothing to forget.
"""

from __future__ import annotations

import argparse
import copy
import os
from collections.abc import Sequence
from typing import Any

from granian.constants import Interfaces
from granian.log import LOGGING_CONFIG, LogLevels
from granian.server import MPServer

# The access log's lines, as granian writes them (and as gunicorn did): the path without its
# query string, the status and the time taken in milliseconds.
ACCESS_FORMAT = '%(addr)s - "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms'


def logging_config(quiet_static: bool) -> dict[str, Any]:
    """granian's own logging, in the format LOG_FORMAT names (json for log shippers), and
    without the access lines of static files when `quiet_static` (the development console)."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    if os.environ.get("LOG_FORMAT", "plain") == "json":
        json_formatter = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
        config["formatters"] = {"generic": json_formatter, "access": json_formatter}
    # granian warns of more threads than about two per core; ours wait on their hit writer and
    # on I/O more than they run (see above), so the warning would only mislead.
    config["filters"] = {"many_threads": {"()": "postroom.serving.ManyThreadsChosen"}}
    config["handlers"]["console"]["filters"] = ["many_threads"]
    if quiet_static:
        config["filters"]["quiet_static"] = {"()": "postroom.serving.QuietStatic"}
        config["handlers"]["access"]["filters"] = ["quiet_static"]
    return config


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m postroom.web", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="processes; about one per core")
    parser.add_argument("--threads", type=int, default=16, help="threads per process")
    parser.add_argument("--access-log", action="store_true", help="a line per request")
    parser.add_argument(
        "--quiet-static", action="store_true", help="no access lines for static files"
    )
    parser.add_argument(
        "--graceful-timeout", type=int, default=30,
        help="seconds a stopping worker may take to finish its requests",
    )  # fmt: skip
    parser.add_argument(
        "--app", default="postroom.wsgi:application", help=argparse.SUPPRESS
    )  # the benchmarks' reference serves another app through the same server
    return parser


def server(argv: Sequence[str] | None = None) -> MPServer:
    args = build_parser().parse_args(argv)
    # Processes, each with its own GIL: the build of Python we run has one.
    return MPServer(
        args.app,
        address=args.host,
        port=args.port,
        interface=Interfaces.WSGI,
        workers=args.workers,
        blocking_threads=args.threads,
        websockets=False,
        log_level=LogLevels.warning,
        log_access=args.access_log,
        log_access_format=ACCESS_FORMAT,
        log_dictconfig=logging_config(args.quiet_static),
        workers_kill_timeout=args.graceful_timeout,
    )


def main(argv: Sequence[str] | None = None) -> None:
    server(argv).serve()


if __name__ == "__main__":
    main()
