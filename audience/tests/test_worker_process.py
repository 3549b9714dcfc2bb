"""The real `manage.py worker` process runs queued audience jobs (the postroom.worker wiring)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

QUEUE_AN_IMPORT = """
from django.core.files.uploadedfile import SimpleUploadedFile
from accounts.models import Workspace
from audience import services
workspace = Workspace.objects.create(name="Worker test")
data = b"email,first_name\\nw1@example.com,One\\nw2@example.com,Two\\nbad,Three\\n"
job = services.import_upload(
    workspace=workspace, user=None, upload=SimpleUploadedFile("w.csv", data, "text/csv")
)
services.import_start(
    job=job, mapping=["email", "first_name"], new_fields={}, mode="add", recipient_list=None
)
print(job.pk)
"""


@pytest.mark.skipif(connection.vendor != "sqlite", reason="uses a throw-away SQLite file")
def test_the_worker_process_runs_a_queued_import(tmp_path):
    db = tmp_path / "db.sqlite3"
    env = {
        **os.environ,
        "POSTROOM_VAR_DIR": str(tmp_path),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "DATABASE_URL": f"sqlite:///{db}",
    }
    manage = [sys.executable, "manage.py"]

    def run(*args: str) -> str:
        done = subprocess.run(
            [*manage, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("migrate", "--noinput", "-v", "0")
    queued = run("shell", "-c", QUEUE_AN_IMPORT)
    job_id = int(queued.strip().splitlines()[-1])
    worker = subprocess.Popen(
        [*manage, "worker", "--idle", "0.05"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status = _wait_for_status(db, job_id, {"done", "failed"})
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert status == "done", output
    with sqlite3.connect(db) as conn:
        counts = conn.execute(
            "SELECT imported, rejected FROM audience_audiencejob WHERE id = ?", (job_id,)
        ).fetchone()
        emails = [r[0] for r in conn.execute("SELECT email FROM audience_recipient ORDER BY 1")]
    assert counts == (2, 1)
    assert emails == ["w1@example.com", "w2@example.com"]
    assert worker.returncode == 0, output


def _wait_for_status(db: Path, job_id: int, final: set[str]) -> str:
    deadline = time.monotonic() + 60
    status = ""
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "SELECT status FROM audience_audiencejob WHERE id = ?", (job_id,)
            ).fetchone()
        status = row[0] if row else ""
        if status in final:
            return status
        time.sleep(0.1)
    return status
