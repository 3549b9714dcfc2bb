"""The embedded worker: one at a time on SQLite, clean stop on SIGTERM."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from campaigns.workers.embedded import EmbeddedWorker, WorkerAlreadyRunning, single_worker_lock

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_lock_holder_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "worker.lock"
    refused = pytest.raises(WorkerAlreadyRunning, match="only one worker")
    with single_worker_lock(path), refused, single_worker_lock(path):
        pass
    with single_worker_lock(path):  # released: a new worker may start
        pass


def test_the_loop_runs_steps_until_stopped():
    calls: list[int] = []
    worker = EmbeddedWorker([], idle_seconds=0.01)

    def step() -> bool:
        calls.append(1)
        if len(calls) == 3:
            worker.stop()
        return True

    worker.steps = [step]
    worker.run()
    assert len(calls) == 3


@pytest.mark.django_db
def test_a_failing_step_is_logged_and_the_loop_goes_on(caplog):
    calls: list[str] = []
    worker = EmbeddedWorker([], idle_seconds=0.01)

    def flaky() -> bool:
        calls.append("flaky")
        if len(calls) == 1:
            raise RuntimeError("boom")
        worker.stop()
        return False

    worker.steps = [flaky]
    worker.run()
    assert calls == ["flaky", "flaky"]
    assert "worker step flaky failed" in caplog.text


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the single-worker rule is SQLite's")
def test_a_second_worker_process_refuses_to_start_and_the_first_stops_on_sigterm(tmp_path):
    env = {
        **os.environ,
        "POSTROOM_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    command = [sys.executable, "manage.py", "worker", "--idle", "0.05"]
    first = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "worker.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        second = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert second.returncode != 0
        assert "only one worker may run" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        output, _ = first.communicate(timeout=30)
    assert first.returncode == 0, output
    assert "worker stopped" in output
