"""A thread that writes for the engine: jobs run one at a time, in order, on a database
connection of its own, while the engine's thread goes on sending.

Waiting for PostgreSQL to apply a chunk of outcomes took about a third of a sending worker's
time, with every connection of the batch idle meanwhile (py-spy, `bench_send.py --workers 2`).
Written here, the chunk's statement runs while the next chunk's messages go out.

A job's connection is its own (Django's connections are per thread): it sees only committed
rows, so it is for callers outside a transaction (`core.one_ahead.can_overlap`). Unlike
`core.one_ahead.Ahead`, made for one import's batches, the thread outlives a call: the engine
keeps it from one batch to the next, each chunk with its own Future. A connection that broke
under a job is closed, and the next job opens another. When idle the thread closes its
connection and ends (it starts again with the next job), so that an idle worker holds no
extra connection.
"""

from __future__ import annotations

import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from django.db import connection, connections

T = TypeVar("T")

# How long the thread waits for another job before it closes its connection and ends.
IDLE_SECONDS = 5.0

_Job = tuple["Future[Any]", Callable[[], Any]]

_writers: weakref.WeakSet[Writer] = weakref.WeakSet()  # every Writer of the process


class Writer:
    """Runs jobs in order on a thread of its own; `close` waits for them and ends it."""

    def __init__(
        self, *, idle_seconds: float = IDLE_SECONDS, name: str = "postroom-writer"
    ) -> None:
        self.idle_seconds = idle_seconds
        self.name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        _writers.add(self)

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Run `job` after those submitted before it; its Future gives its result or raises
        what it raised."""
        future: Future[T] = Future()
        with self._lock:  # against the thread ending between the put and the check
            self._jobs.put((future, job))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        return future

    def close(self) -> None:
        """Wait for the jobs submitted, then close the thread's connection and end it."""
        with self._lock:
            thread = self._thread
            if thread is not None:
                self._jobs.put(None)
        if thread is not None:
            thread.join()

    @staticmethod
    def close_all() -> None:
        """Close every writer of the process (a test's, before the next test or the test
        database goes)."""
        for writer in list(_writers):
            writer.close()

    def _run(self) -> None:
        try:
            while True:
                try:
                    item = self._jobs.get(timeout=self.idle_seconds)
                except queue.Empty:
                    item = None
                if item is None:  # idle, or close(): ends here, unless a job came meanwhile
                    with self._lock:
                        if self._jobs.empty():
                            self._thread = None
                            return
                    continue
                future, job = item
                if future.set_running_or_notify_cancel():
                    _run_job(future, job)
        finally:
            connections.close_all()  # this thread's connection only


def _run_job(future: Future[Any], job: Callable[[], Any]) -> None:
    try:
        result = job()
    except BaseException as exc:
        # A connection that failed (server restarted) is not used for the next job.
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        future.set_exception(exc)
    else:
        future.set_result(result)
