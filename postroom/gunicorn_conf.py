"""gunicorn settings for Postroom (`--config python:postroom.gunicorn_conf`).

Options given on gunicorn's command line win over these.

With PROMETHEUS_MULTIPROC_DIR set, every gunicorn worker writes its metrics to files there;
a worker that exits (restarted after max_requests, or killed) must be marked dead, or its
live gauges would be added to every scrape for ever.
"""

from __future__ import annotations

import os
from typing import Any

# Threads, not processes, for the many requests that wait: an open or a click waits on its
# process's hit writer (postroom.hit_front, tracking.recorder), and the more hits of a process
# wait together, the more go in one group (one read, one INSERT, one commit). 16 threads per
# worker let about 8 hits share a group under load (bench-track, 2 workers on 2 cores);
# pages gain nothing from more. Workers: about one per core, on the command line.
worker_class = "gthread"
threads = 16


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
