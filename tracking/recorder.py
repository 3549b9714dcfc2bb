"""Group commit of opens and clicks: one writer thread per process answers hits in groups.

A request thread hands its hit to `Recorder.ask` and waits. The writer takes every hit
waiting when it is free (at least one: it never waits for more) and answers them all with
`batch.answer`: one read, one multi-row INSERT, one commit, on its own connection. Only then
are the request threads woken with their answers, so a hit is answered after the commit that
stores it, never before: an answered hit is never lost. If the group fails (the database is
down, a statement errs) or takes longer than WAIT_SECONDS, its hits get `Unrecorded` and are
answered 503; after a failure the writer drops its connection and the next group opens a new
one. A group is never retried: whether a commit whose answer was lost happened is unknown,
and a retry could count a hit twice.

Under load the group grows by itself: while the writer waits on the database, the hits that
arrive queue behind it and go together in the next group. An idle site answers each hit
alone, as before.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence

from django.db import connection

from tracking import batch

logger = logging.getLogger(__name__)

MOST = 64  # hits in one group at most: one INSERT statement stays small
WAIT_SECONDS = 30.0  # a hit waits this long for its group, then is answered 503


class Unrecorded(Exception):
    """The hit could not be answered: its group failed before its commit."""


class _Waiting:
    __slots__ = ("answer", "ask", "done", "failed")

    def __init__(self, ask: batch.Ask) -> None:
        self.ask = ask
        # Held until the hit is answered: the writer releases it, the request thread waits
        # to acquire it. A bare lock costs a fraction of a threading.Event (a Condition and
        # a lock of its own per waiter), and the writer wakes every hit of every group.
        self.done = threading.Lock()
        self.done.acquire()
        self.answer: batch.Answer | None = None
        self.failed = False


Answerer = Callable[[Sequence[batch.Ask]], list[batch.Answer]]


class Recorder:
    def __init__(
        self, answerer: Answerer = batch.answer, *, most: int = MOST, wait: float = WAIT_SECONDS
    ) -> None:
        self._answerer = answerer
        self._most = most
        self._wait = wait
        self._queue: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def ask(self, ask: batch.Ask) -> batch.Answer:
        """The answer to `ask`, once its event (if it records one) is committed."""
        waiting = _Waiting(ask)
        self._start()
        self._queue.put(waiting)
        # Not answered in time (the database hangs): 503, never a hit answered before its
        # commit; if the group commits later, the event is there all the same.
        if not waiting.done.acquire(timeout=self._wait) or waiting.failed or waiting.answer is None:
            raise Unrecorded
        return waiting.answer

    def waiting(self) -> int:
        """Hits handed over and not yet taken by the writer."""
        return self._queue.qsize()

    def stop(self) -> None:
        """End the writer after the hits handed to it, and close its connection."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _start(self) -> None:
        # Started by the first hit, in the process that serves it: a thread started before
        # the web server starts its workers would not run in them.
        thread = self._thread
        if thread is not None and self._pid == os.getpid() and thread.is_alive():
            return
        with self._lock:
            thread = self._thread
            if thread is None or self._pid != os.getpid() or not thread.is_alive():
                self._pid = os.getpid()
                self._queue = queue.SimpleQueue()
                self._thread = threading.Thread(target=self._run, name="hit-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                group = [first]
                while len(group) < self._most:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self._queue.put(None)  # stop once this group is answered
                        break
                    group.append(more)
                self._answer(group)
        finally:
            connection.close()

    def _answer(self, group: list[_Waiting]) -> None:
        close_at = connection.close_at
        if close_at is not None and time.monotonic() >= close_at:
            connection.close()  # renewed after CONN_MAX_AGE, as request threads renew theirs
        try:
            answers = self._answerer([waiting.ask for waiting in group])
        except Exception:
            logger.exception("a group of %d opens and clicks was not recorded", len(group))
            for waiting in group:
                waiting.failed = True
            try:
                connection.close()  # the next group opens a new one
            except Exception:  # a broken connection may fail to close
                logger.debug("closing the hit writer's connection failed", exc_info=True)
        else:
            for waiting, answer in zip(group, answers, strict=True):
                waiting.answer = answer
        finally:
            for waiting in group:
                waiting.done.release()


_default = Recorder()


def ask(hit: batch.Ask) -> batch.Answer:
    """`Recorder.ask` on this process's writer."""
    return _default.ask(hit)


def stop() -> None:
    """Stop this process's writer (tests; a new hit starts it again)."""
    _default.stop()
