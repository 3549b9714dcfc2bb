"""SingleFlight: one request computes a set of figures at a time, whatever the others find."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache

from core.single_flight import SingleFlight

FLIGHT = SingleFlight("test-flight", ttl=60, computing=10)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def together(n: int, call: Callable[[], Any]) -> list[Any]:
    """`call()` from n threads released at once; their results."""
    start = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        start.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


class SlowFigures:
    def __init__(self, fail_first: bool = False) -> None:
        self.calls = 0
        self.fail_first = fail_first
        self.lock = threading.Lock()

    def __call__(self) -> dict[str, int]:
        with self.lock:
            self.calls += 1
            n = self.calls
        time.sleep(0.3)
        if self.fail_first and n == 1:
            raise RuntimeError("the database went away")
        return {"computed": n}


@pytest.mark.parametrize("after_invalidate", [False, True])
def test_with_no_figures_of_this_version_one_computes_and_the_others_wait(after_invalidate):
    """The first visit, and the first after `invalidate` (old figures are not shown then):
    eight requests at once, one computation, the same figures for all."""
    if after_invalidate:
        FLIGHT.get(1, lambda: {"computed": 0}, dict)
        FLIGHT.invalidate(1)
    compute = SlowFigures()
    results = together(8, lambda: FLIGHT.get(1, compute, dict))
    assert compute.calls == 1
    assert results == [{"computed": 1}] * 8


def test_when_the_one_computing_fails_a_waiting_one_computes():
    compute = SlowFigures(fail_first=True)

    def call():
        try:
            return FLIGHT.get(1, compute, dict)
        except RuntimeError:
            return "failed"

    results = together(4, call)
    assert results.count("failed") == 1
    assert compute.calls == 2  # the failed one, then one of the waiting ones
    assert [r for r in results if r != "failed"] == [{"computed": 2}] * 3


def test_fresh_figures_are_read_and_stale_ones_shown_while_one_computes():
    short = SingleFlight("test-short", ttl=1, computing=10)
    short.get(1, lambda: {"computed": 0}, dict)
    assert short.get(1, lambda: {"computed": 99}, dict) == {"computed": 0}  # fresh
    time.sleep(1.1)  # run out of time, same version: the last figures may be shown
    compute = SlowFigures()
    results = together(4, lambda: short.get(1, compute, dict))
    assert compute.calls == 1
    assert sorted(r["computed"] for r in results) == [0, 0, 0, 1]  # the others: the last ones


def test_many_owners_are_read_together_and_only_the_missing_ones_computed():
    asked: list[list[int]] = []

    def compute(owners: list[int]) -> dict[int, dict[str, int]]:
        asked.append(owners)
        return {owner: {"n": owner * len(asked)} for owner in owners}

    assert FLIGHT.get_many([1, 2, 3], compute, dict) == {1: {"n": 1}, 2: {"n": 2}, 3: {"n": 3}}
    assert FLIGHT.get_many([3, 2, 1, 2], compute, dict) == {1: {"n": 1}, 2: {"n": 2}, 3: {"n": 3}}
    assert asked == [[1, 2, 3]]

    FLIGHT.invalidate(2)
    cache.set("test-flight:figures:3:0", "not figures")  # not of the kind: not trusted
    assert FLIGHT.get_many([1, 2, 3], compute, dict) == {1: {"n": 1}, 2: {"n": 4}, 3: {"n": 6}}
    assert asked[1:] == [[2, 3]]
    assert FLIGHT.get(2, lambda: {"n": 0}, dict) == {"n": 4}  # one cache for both ways
