"""The web server a benchmark starts, shared by the bench scripts that time it."""

from __future__ import annotations

import subprocess
import time
import urllib.request


def wait_until_answering(server: subprocess.Popen[bytes], port: int, see: str = "") -> None:
    """Return once the server on `port` answers /health; kill it after a minute without."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"the web server did not answer within a minute{see}")
