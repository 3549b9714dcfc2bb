"""The embedded worker: runs the engine's steps in a loop on this machine, no broker needed.

With SQLite only one worker may run (SQLite has no SKIP LOCKED), so the worker holds an
exclusive lock on a file beside the database and refuses to start when another holds it.
"""

from __future__ import annotations

import fcntl
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)

# A step does one bounded piece of work and says whether more is waiting right now.
Step = Callable[[], bool]


class WorkerAlreadyRunning(RuntimeError):
    pass


@contextmanager
def single_worker_lock(path: Path) -> Iterator[IO[str]]:
    """Hold an exclusive, non-blocking lock on `path` for as long as the worker runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise WorkerAlreadyRunning(
            f"Another worker holds {path}. With SQLite only one worker may run; "
            "use PostgreSQL (DATABASE_URL) to run several."
        ) from exc
    try:
        yield handle
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


class EmbeddedWorker:
    """Loop over the steps until stopped; sleep only when no step had more to do."""

    def __init__(self, steps: Sequence[Step], idle_seconds: float = 1.0) -> None:
        self.steps = steps
        self.idle_seconds = idle_seconds
        self.stopping = threading.Event()

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        if not self.stopping.is_set():
            log.info("worker stopping after the current step")
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run_once(self) -> bool:
        """Run every step once; True if any of them has more work waiting.

        A step that raises is logged and skipped for this round, so that one bad row or a
        database hiccup never stops the worker; its connection is dropped in case it broke.
        """
        busy = False
        for step in self.steps:
            if self.stopping.is_set():
                break
            try:
                busy = step() or busy
            except Exception:
                log.exception("worker step %s failed; going on", getattr(step, "__name__", step))
                # A broken connection (server restart, network) is replaced on the next query.
                if not connection.in_atomic_block:
                    connection.close_if_unusable_or_obsolete()
        return busy

    def run(self) -> None:
        log.info("worker started with %d step(s)", len(self.steps))
        while not self.stopping.is_set():
            if not self.run_once():
                self.stopping.wait(self.idle_seconds)
        log.info("worker stopped")


def lock_path() -> Path | None:
    """The lock file for SQLite databases; None where several workers may share the database."""
    if connection.vendor != "sqlite":
        return None
    return Path(settings.VAR_DIR) / "worker.lock"
