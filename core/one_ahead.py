"""Calls on threads of their own, while the caller prepares the next; they end in order.

An import parses a batch in Python and then waits for PostgreSQL to COPY it and update the
table's indexes. With the writes on threads (each with its own database connection) and the
parsing in the caller, both cores work: with one write in flight, PostgreSQL's one backend
is the limit; with two, two backends share the indexes' work.

`width` calls may be in flight; each is given a `turn` to call before it commits, which
returns once every call submitted before it has ended (and raises `Abandoned` if one of them
failed). So the writes overlap, and their transactions still commit one after another, in
the order submitted. `settle` waits for the oldest call. Where threads cannot help, calls run
in the caller's thread instead: on SQLite, which works inside this process, and inside an
open transaction (a test's), whose rows another connection could not see.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

from django.db import connection

log = logging.getLogger(__name__)

Turn = Callable[[], None]


class Abandoned(Exception):
    """A call before this one failed: this one must not commit."""


def can_overlap() -> bool:
    """Whether a second connection would help, and see what this one sees."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


class Ahead:
    """`submit` a call (given its `turn` first); `settle` waits for the oldest one and returns
    its result or raises its error.

    Use as a context manager: leaving waits for every call in flight (so nothing is written
    after the caller has moved on) and closes the threads' database connections.
    """

    def __init__(self, *, threaded: bool, name: str, width: int = 1) -> None:
        # One single-thread pool a slot, used in turn: call n runs where call n - width ran,
        # which was settled before (and a thread keeps its connection).
        self._slots = (
            [ThreadPoolExecutor(1, thread_name_prefix=f"{name}-{i}") for i in range(width)]
            if threaded
            else []
        )
        self._width = width
        self._submitted = 0
        self._pending: deque[Future[Any]] = deque()
        self._last: _Link | None = None  # the latest call's

    @property
    def full(self) -> bool:
        """Whether `width` calls are in flight: settle one before submitting."""
        return len(self._pending) >= self._width

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(turn, *args)`; `turn()` returns when the calls before it have ended."""
        if self.full:
            raise RuntimeError("settle the oldest call in flight before submitting another")
        before, link = self._last, _Link()
        self._last = link

        def turn() -> None:
            if before is not None and not before.ended_well():
                raise Abandoned("an earlier call failed")

        def call() -> Any:
            try:
                result = fn(turn, *args)
                link.ok = True
                return result
            finally:
                link.done.set()

        if self._slots:
            slot = self._slots[self._submitted % self._width]
            self._pending.append(slot.submit(call))
        else:
            future: Future[Any] = Future()
            try:
                future.set_result(call())
            except BaseException as exc:  # given back by settle, as the thread would
                future.set_exception(exc)
            self._pending.append(future)
        self._submitted += 1

    def settle(self) -> Any:
        """The result of the oldest call in flight (None if there is none); its error is
        raised."""
        if not self._pending:
            return None
        return self._pending.popleft().result()

    def __enter__(self) -> Ahead:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                while self._pending:
                    self.settle()
            else:
                # The caller is already failing: wait for the calls, and only log their errors.
                while self._pending:
                    error = self._pending.popleft().exception()
                    if error is not None and not isinstance(error, Abandoned):
                        log.error("call in flight failed too", exc_info=error)
        finally:
            for slot in self._slots:
                slot.submit(_close_connection).result()
                slot.shutdown()


class _Link:
    """How one call ended: `ok` once it has returned; a call abandoned counts as failed, so
    that every call after a failed one is abandoned too (and none before it)."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False

    def ended_well(self) -> bool:
        self.done.wait()
        return self.ok


def _close_connection() -> None:
    """Close the calling thread's connection (`connection` resolves per thread when called)."""
    connection.close()
