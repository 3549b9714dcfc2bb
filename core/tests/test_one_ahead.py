"""OneAhead: one call in flight, its result or error given back by settle."""

from __future__ import annotations

import threading

import pytest

from core.one_ahead import OneAhead


@pytest.mark.parametrize("threaded", [True, False])
def test_results_and_errors_come_back_in_order(threaded):
    seen = []

    def double(x: int) -> int:
        seen.append(threading.current_thread().name)
        return x * 2

    with OneAhead(threaded=threaded, name="test-ahead") as ahead:
        assert ahead.settle() is None
        ahead.submit(double, 21)
        assert ahead.settle() == 42
        ahead.submit(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            ahead.settle()
    assert seen[0].startswith("test-ahead") if threaded else seen == ["MainThread"]


def test_a_second_call_waits_for_the_first_to_be_settled():
    with OneAhead(threaded=True, name="test-ahead") as ahead:
        ahead.submit(lambda: None)
        with pytest.raises(RuntimeError, match="settle"):
            ahead.submit(lambda: None)
        ahead.settle()


def test_leaving_on_an_error_waits_for_the_call_in_flight():
    release, finished = threading.Event(), threading.Event()

    def slow():
        release.wait(5)
        finished.set()

    def fail_while_writing():
        with OneAhead(threaded=True, name="test-ahead") as ahead:
            ahead.submit(slow)
            threading.Timer(0.05, release.set).start()
            raise KeyError("the caller failed")

    with pytest.raises(KeyError):
        fail_while_writing()
    assert finished.is_set()
