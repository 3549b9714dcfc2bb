"""The CPU of the processes a benchmark measures: its workers, PostgreSQL's backends, a sink."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a live process has used."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used from now on by a changing set of processes (PostgreSQL backends come and go).

    A process's first reading is its baseline (zero for one first seen after the start), its
    highest reading its total; one that exits between two readings loses only what it used
    since the last one (0.2 s at most).
    """

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.started = False

    def read(self, pids: list[int]) -> None:
        for pid in pids:
            cpu = cpu_seconds(pid)
            self.first.setdefault(pid, cpu if not self.started else 0.0)
            self.last[pid] = max(self.last.get(pid, 0.0), cpu)
        self.started = True

    def total(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def database_backends() -> list[int]:
    """The PostgreSQL backends serving this database (the workers'), not this script's own nor
    other databases' on a shared server; [] on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]
