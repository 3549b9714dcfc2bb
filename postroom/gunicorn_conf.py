"""gunicorn settings for Postroom (`--config python:postroom.gunicorn_conf`).

With PROMETHEUS_MULTIPROC_DIR set, every gunicorn worker writes its metrics to files there;
a worker that exits (restarted after max_requests, or killed) must be marked dead, or its
live gauges would be added to every scrape for ever.
"""

from __future__ import annotations

import os
from typing import Any


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
