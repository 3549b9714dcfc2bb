"""The hang guard ends a run whose test pytest-timeout cannot end, with every thread's stack."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# The test below swallows pytest-timeout's exception, as code blocked in C or a broad
# `except BaseException` would, and starts a child that would outlive the run.
STUCK = textwrap.dedent(
    """
    import subprocess
    import time

    def test_stuck_beyond_its_timeout(tmp_path):
        child = subprocess.Popen(["sleep", "600"])
        (tmp_path.parent.parent / "child.pid").write_text(str(child.pid))
        while True:
            try:
                time.sleep(0.2)
            except BaseException:
                pass
    """
)


# C code that holds the GIL and never returns: no Python thread runs again, not even a signal
# handler, so neither pytest-timeout nor the guard's own thread can act. Two threads on one
# sqlite3 connection (a live server sharing an in-memory test database with its request
# threads) met this class of hang, but only by a race. Here a thread holds the GIL for certain,
# in a regular expression whose backtracking outlasts the run: the C matcher never lets the GIL
# go, and it heeds signals only in the main thread, which waits for it.
DEADLOCKED = textwrap.dedent(
    """
    import re
    import threading

    def test_deadlocked_holding_the_gil():
        matcher = threading.Thread(target=re.match, args=(r"(a*)*b", "a" * 64), daemon=True)
        matcher.start()
        matcher.join()
    """
)


def _run_pytest(tmp_path: Path, source: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_stuck.py").write_text(source)
    environ = {**os.environ, **env}
    environ.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-p",
            "core.testing.hang_guard",
            "--timeout",
            "1",
            "--basetemp",
            str(tmp_path / "base"),
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            str(tmp_path / "test_stuck.py"),
        ],
        cwd=Path(__file__).resolve().parents[2],
        env=environ,
        capture_output=True,
        text=True,
        timeout=100,
    )


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.timeout(120)
def test_a_test_stuck_past_its_timeout_ends_the_run_with_its_stack(tmp_path: Path):
    run = _run_pytest(tmp_path, STUCK, POSTROOM_HANG_GRACE="2")
    output = run.stdout + run.stderr
    assert run.returncode == 70, output
    assert "test_stuck_beyond_its_timeout is still running" in output
    assert "in test_stuck_beyond_its_timeout" in output  # the stuck frame, from the stack dump
    child = int((tmp_path / "child.pid").read_text())
    assert not _alive(child), "the test's child process outlived the run"


@pytest.mark.timeout(120)
def test_a_deadlock_holding_the_gil_still_ends_the_run_with_its_stack(tmp_path: Path):
    run = _run_pytest(tmp_path, DEADLOCKED, POSTROOM_HANG_GRACE="2", POSTROOM_HANG_HARD_AFTER="3")
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "Timeout (0:00:06)!" in output  # faulthandler's watchdog, not a Python thread
    assert "in test_deadlocked_holding_the_gil" in output
