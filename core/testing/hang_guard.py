"""Pytest plugin: a test that outlives its timeout ends the run, loudly, instead of hanging it.

pytest-timeout ends a test by raising from SIGALRM in the main thread. That fails when the
main thread never runs Python again (blocked in C, or the exception swallowed on the way), and
then the run hangs until CI's own limit ends it with nothing to say where. This plugin watches
from a thread of its own: a test still running `GRACE` seconds past its timeout gets every
thread's stack written to the terminal, its child processes (browser, workers, servers)
killed, and the process ended with `EXIT_STATUS`. Under xdist, the controller reports the
worker's crash against the test and goes on with a new worker.

The terminal's stderr is duplicated when this module is imported (it is loaded with `-p`,
before pytest starts capturing), so the stacks are seen even while output is captured.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.digits import is_number

GRACE = float(os.environ.get("POSTROOM_HANG_GRACE", "90"))  # seconds past the timeout
# A deadlock that holds the GIL (two threads on one sqlite3 connection, one in a Python SQL
# function) stops every Python thread, this plugin's too; faulthandler's own C thread then
# prints the stacks and exits this much later.
HARD_AFTER = float(os.environ.get("POSTROOM_HANG_HARD_AFTER", "30"))
EXIT_STATUS = 70
POLL = 5.0

_TERMINAL = os.fdopen(os.dup(2), "w", buffering=1)
_running: dict[str, float] = {}  # nodeid -> deadline (monotonic)
_lock = threading.Lock()


def timeout_of(item: pytest.Item) -> float:
    """The test's timeout as pytest-timeout reads it: its mark, else --timeout, else the ini."""
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    try:
        value = item.config.getoption("timeout", None)  # --timeout, which wins over the ini
        if value is None:
            value = item.config.getini("timeout")
        return float(value or 0)
    except (ValueError, KeyError):
        return 0.0


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from /proc (children before their parents' end)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not is_number(entry.name):
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone since the listing
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def end_the_run(nodeid: str, overdue: float) -> None:
    _TERMINAL.write(
        f"\n\n[hang guard] {nodeid} is still running {overdue:.0f} s past its timeout: "
        "pytest-timeout could not end it. Stacks of every thread:\n"
    )
    _TERMINAL.flush()
    faulthandler.dump_traceback(file=_TERMINAL, all_threads=True)
    for pid in reversed(descendants(os.getpid())):
        with contextlib.suppress(OSError):  # gone already
            os.kill(pid, signal.SIGKILL)
    _TERMINAL.write(f"[hang guard] ended the run (exit {EXIT_STATUS}) at {nodeid}\n")
    _TERMINAL.flush()
    os._exit(EXIT_STATUS)


def _watch() -> None:
    while True:
        time.sleep(POLL)
        now = time.monotonic()
        with _lock:
            overdue = [(nodeid, now - deadline) for nodeid, deadline in _running.items()]
        for nodeid, late in overdue:
            if late > 0:
                end_the_run(nodeid, late + GRACE)


def pytest_configure(config: pytest.Config) -> None:
    threading.Thread(target=_watch, name="hang-guard", daemon=True).start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    timeout = timeout_of(item)
    if timeout > 0:
        with _lock:
            _running[item.nodeid] = time.monotonic() + timeout + GRACE
        faulthandler.dump_traceback_later(timeout + GRACE + HARD_AFTER, exit=True, file=_TERMINAL)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        with _lock:
            _running.pop(item.nodeid, None)
