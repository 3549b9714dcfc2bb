"""The embedded worker: runs the engine's steps in loops on this machine, no broker needed.

Duties run in groups, one thread per group (`ThreadedWorker`), so that a long step of one
group (an import of a million rows) never delays another (sending). Each thread has its own
database connection (Django's connections are per thread) and closes it when it ends.

With SQLite only one worker may run (SQLite has no SKIP LOCKED), so the worker holds an
exclusive lock on a file beside the database and refuses to start when another holds it.
"""

from __future__ import annotations

import fcntl
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO

from django.conf import settings
from django.db import connection, connections

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
    """Loop over the steps until stopped; sleep only when no step had more to do.

    `stopping` may be shared: the threads of a ThreadedWorker all stop on one event.
    """

    def __init__(
        self,
        steps: Sequence[Step],
        idle_seconds: float = 1.0,
        stopping: threading.Event | None = None,
    ) -> None:
        self.steps = steps
        self.idle_seconds = idle_seconds
        self.stopping = stopping or threading.Event()

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


class ThreadedWorker:
    """One thread per group of duties, watched by the calling thread until stopped.

    A group's loop logs a failing step and goes on (EmbeddedWorker.run_once); should its
    thread die all the same, it is logged and started again after `restart_seconds`, and
    the other groups never notice. `tick` is called by the watching thread every
    `idle_seconds` (the heartbeat), so that no duty can hold it up. A group named in
    `least_idle` sleeps at least that long when idle, however short `idle_seconds` is.
    """

    def __init__(
        self,
        groups: Mapping[str, Sequence[Step]],
        idle_seconds: float = 1.0,
        tick: Callable[[], None] | None = None,
        restart_seconds: float = 5.0,
        least_idle: Mapping[str, float] | None = None,
    ) -> None:
        self.groups = groups
        self.idle_seconds = idle_seconds
        self.least_idle = dict(least_idle or {})
        self.tick = tick
        self.restart_seconds = restart_seconds
        self.stopping = threading.Event()
        self.threads: dict[str, threading.Thread] = {}
        self.died_at: dict[str, float] = {}

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        if not self.stopping.is_set():
            log.info("worker stopping after the current steps")
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def _loop(self, name: str) -> None:
        try:
            idle = max(self.idle_seconds, self.least_idle.get(name, 0.0))
            EmbeddedWorker(self.groups[name], idle, self.stopping).run()
        except BaseException:  # even SystemExit from a duty: the watcher starts it again
            log.exception("worker duties %r crashed", name)
        finally:
            connections.close_all()  # this thread's connections only

    def _start(self, name: str) -> None:
        thread = threading.Thread(target=self._loop, args=(name,), name=f"duty-{name}")
        self.threads[name] = thread
        thread.start()

    def _watch(self) -> None:
        """Start again, after a pause, each group whose thread has died."""
        for name, thread in self.threads.items():
            if thread.is_alive() or self.stopping.is_set():
                continue
            died = self.died_at.setdefault(name, time.monotonic())
            if time.monotonic() - died >= self.restart_seconds:
                log.error("worker duties %r stopped unexpectedly; starting them again", name)
                del self.died_at[name]
                self._start(name)

    def run(self) -> None:
        log.info("worker started with duty threads: %s", ", ".join(self.groups))
        for name in self.groups:
            self._start(name)
        try:
            while not self.stopping.is_set():
                if self.tick is not None:
                    try:
                        self.tick()
                    except Exception:
                        log.exception("worker heartbeat failed; going on")
                        connection.close_if_unusable_or_obsolete()
                self._watch()
                self.stopping.wait(self.idle_seconds)
        finally:
            self.stopping.set()
            for thread in self.threads.values():
                thread.join()
        log.info("worker stopped")


def lock_path() -> Path | None:
    """The lock file for SQLite databases; None where several workers may share the database."""
    if connection.vendor != "sqlite":
        return None
    return Path(settings.VAR_DIR) / "worker.lock"
