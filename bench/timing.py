"""Timing shared by the benchmarks that time reads: the best of a few rounds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best_ms(fn: Callable[[], Any], rounds: int = 3) -> float:
    """The fastest of `rounds` calls of `fn`, in milliseconds: the first call warms caches,
    and the best says what the code costs, not what the machine's other work did to it."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best * 1000
