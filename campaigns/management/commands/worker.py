"""Run the embedded worker (started by `make run`). Stops cleanly on SIGTERM or Ctrl-C."""

import os
import socket
from contextlib import nullcontext
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audience.jobs import run_next_job
from campaigns.engine.step import run_engine_step
from campaigns.workers.embedded import (
    EmbeddedWorker,
    WorkerAlreadyRunning,
    lock_path,
    single_worker_lock,
)
from campaigns.workers.heartbeat import Heartbeat
from postroom.housekeeping import run_housekeeping_step
from webhooks.dispatch import run_webhook_step

# What the worker loops over: the delivery engine (start due campaigns, claim and send a
# batch, finish done ones), the audience's background jobs (CSV imports, bulk actions) and
# outgoing webhooks, and the hourly clean-up.
ENGINE_STEPS: list[Any] = [run_engine_step, run_next_job, run_webhook_step, run_housekeeping_step]


class Command(BaseCommand):
    help = "Run the embedded worker: the delivery engine in threads, without a broker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--idle", type=float, default=1.0, help="seconds to sleep when nothing is due"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = lock_path()
        heartbeat = Heartbeat(f"{socket.gethostname()}:{os.getpid()}", kind="embedded")

        def beat() -> bool:
            heartbeat.beat()
            return False

        try:
            with single_worker_lock(path) if path else nullcontext():
                worker = EmbeddedWorker([beat, *ENGINE_STEPS], idle_seconds=options["idle"])
                worker.install_signal_handlers()
                self.stdout.write("Worker running. Press Ctrl-C to stop.")
                try:
                    worker.run()
                finally:
                    heartbeat.stop()
        except WorkerAlreadyRunning as exc:
            raise CommandError(str(exc)) from exc
