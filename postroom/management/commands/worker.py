"""Run the embedded worker (started by `make run`). Stops cleanly on SIGTERM or Ctrl-C."""

import os
import socket
from contextlib import nullcontext
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.workers.embedded import (
    ThreadedWorker,
    WorkerAlreadyRunning,
    lock_path,
    single_worker_lock,
)
from campaigns.workers.heartbeat import Heartbeat
from core import heap
from postroom.worker import DUTY_GROUPS, LEAST_IDLE_SECONDS


class Command(BaseCommand):
    help = "Run the embedded worker: its duties in one thread per group, without a broker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--idle", type=float, default=1.0, help="seconds to sleep when nothing is due"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = lock_path()
        heartbeat = Heartbeat(f"{socket.gethostname()}:{os.getpid()}", kind="embedded")

        try:
            with single_worker_lock(path) if path else nullcontext():
                worker = ThreadedWorker(
                    DUTY_GROUPS,
                    idle_seconds=options["idle"],
                    tick=heartbeat.beat,
                    least_idle=LEAST_IDLE_SECONDS,
                )
                worker.install_signal_handlers()
                heap.settle()  # every duty's code is loaded: see core.heap
                self.stdout.write("Worker running. Press Ctrl-C to stop.")
                try:
                    worker.run()
                finally:
                    heartbeat.stop()
        except WorkerAlreadyRunning as exc:
            raise CommandError(str(exc)) from exc
