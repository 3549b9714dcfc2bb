"""One call at a time on a thread of its own, while the caller prepares the next.

An import parses a batch in Python and then waits for PostgreSQL to look it up, COPY it and
update the table's indexes: about half of its time each, on one core each. With the write of
batch N on this thread and the parsing of batch N+1 in the caller, both cores work.

At most one call is in flight, and the next is submitted only after the caller has settled
the one before it: batches are written one after another, in the file's order, exactly as
without the thread. Where the thread cannot help, calls run in the caller's thread instead:
on SQLite, which works inside this process, and inside an open transaction (a test's), whose
rows another connection could not see.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

from django.db import connection

log = logging.getLogger(__name__)


def can_overlap() -> bool:
    """Whether a second connection would help, and see what this one sees."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


class OneAhead:
    """`submit` a call; `settle` waits for it and returns its result or raises its error.

    Use as a context manager: leaving waits for the call in flight (so nothing is written
    after the caller has moved on) and closes the thread's database connection.
    """

    def __init__(self, *, threaded: bool, name: str) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=name) if threaded else None
        self._pending: Future[Any] | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._pending is not None:
            raise RuntimeError("settle the call in flight before submitting another")
        if self._pool is not None:
            self._pending = self._pool.submit(fn, *args)
            return
        self._pending = Future()
        try:
            self._pending.set_result(fn(*args))
        except BaseException as exc:  # given back by settle, as the thread would
            self._pending.set_exception(exc)

    def settle(self) -> Any:
        """The result of the call in flight (None if there is none); its error is raised."""
        pending, self._pending = self._pending, None
        return None if pending is None else pending.result()

    def __enter__(self) -> OneAhead:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                self.settle()
            elif self._pending is not None:
                # The caller is already failing: wait for the call, and only log its error.
                error = self._pending.exception()
                self._pending = None
                if error is not None:
                    log.error("call in flight failed too", exc_info=error)
        finally:
            if self._pool is not None:
                self._pool.submit(_close_connection).result()
                self._pool.shutdown()


def _close_connection() -> None:
    """Close the calling thread's connection (`connection` resolves per thread when called)."""
    connection.close()
