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


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.timeout(120)
def test_a_test_stuck_past_its_timeout_ends_the_run_with_its_stack(tmp_path: Path):
    (tmp_path / "test_stuck.py").write_text(STUCK)
    env = {**os.environ, "POSTROOM_HANG_GRACE": "2"}
    env.pop("PYTEST_ADDOPTS", None)
    run = subprocess.run(
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
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 70, output
    assert "test_stuck_beyond_its_timeout is still running" in output
    assert "in test_stuck_beyond_its_timeout" in output  # the stuck frame, from the stack dump
    child = int((tmp_path / "child.pid").read_text())
    assert not _alive(child), "the test's child process outlived the run"
