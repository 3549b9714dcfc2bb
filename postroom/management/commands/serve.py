"""Serve Postroom on this machine: the web server (postroom.web) and the embedded worker together.

Both run as child processes; Ctrl-C or SIGTERM stops both, and if either dies the other is
stopped too, so `make run` never leaves half a Postroom running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the web server and the embedded worker until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=settings.POSTROOM_PORT)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--no-worker", action="store_true", help="serve the web app only")
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args: Any, **options: Any) -> None:
        python = sys.executable
        web = [
            python, "-m", "postroom.web", "--host", options["host"],
            "--port", str(options["port"]), "--workers", "1", "--threads", str(options["threads"]),
            "--access-log", "--quiet-static", "--graceful-timeout", "10",
        ]  # fmt: skip
        children = [subprocess.Popen(web)]  # noqa: S603 - our own interpreter and arguments
        if not options["no_worker"]:
            manage = str(settings.BASE_DIR / "manage.py")
            # Links in the messages the worker sends point where this server answers, unless
            # SITE_URL names the public address.
            env = {**os.environ}
            if not settings.SITE_URL:
                host = "127.0.0.1" if options["host"] in ("0.0.0.0", "::") else options["host"]  # noqa: S104
                env["SITE_URL"] = f"http://{host}:{options['port']}"
            children.append(subprocess.Popen([python, manage, "worker"], env=env))  # noqa: S603
        self.stdout.write(
            self.style.SUCCESS(
                f"Postroom is serving on http://{options['host']}:{options['port']}/"
            )
            + " (Ctrl-C stops it)"
        )
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.2)
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
        if failed and not stopping:
            sys.exit(f"A Postroom process stopped unexpectedly (exit {failed[0].returncode}).")
