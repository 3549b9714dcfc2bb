"""Ahead: calls in flight on threads, their results or errors given back by settle in the
order submitted, and each call's `turn` returning only after the calls before it ended."""

from __future__ import annotations

import threading

import pytest

from core.one_ahead import Abandoned, Ahead


@pytest.mark.parametrize("threaded", [True, False])
def test_results_and_errors_come_back_in_order(threaded):
    seen = []

    def double(turn, x: int) -> int:
        turn()
        seen.append(threading.current_thread().name)
        return x * 2

    with Ahead(threaded=threaded, name="test-ahead") as ahead:
        assert ahead.settle() is None
        ahead.submit(double, 21)
        assert ahead.settle() == 42
        ahead.submit(lambda turn: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            ahead.settle()
    assert seen[0].startswith("test-ahead") if threaded else seen == ["MainThread"]


def test_no_more_calls_than_the_width_are_in_flight():
    with Ahead(threaded=True, name="test-ahead", width=2) as ahead:
        ahead.submit(lambda turn: None)
        assert not ahead.full
        ahead.submit(lambda turn: None)
        assert ahead.full
        with pytest.raises(RuntimeError, match="settle"):
            ahead.submit(lambda turn: None)
        ahead.settle()
        assert not ahead.full


def test_two_calls_run_at_once_and_end_their_turns_in_order():
    """The second call starts before the first ends (both wait at the barrier), but its turn
    returns only once the first has ended: the commits keep the order of submission."""
    both_running = threading.Barrier(2, timeout=5)
    order: list[str] = []
    release_first = threading.Event()

    def first(turn) -> str:
        both_running.wait()
        turn()
        release_first.wait(5)
        order.append("first")
        return "a"

    def second(turn) -> str:
        both_running.wait()
        release_first.set()
        turn()
        order.append("second")
        return "b"

    with Ahead(threaded=True, name="test-ahead", width=2) as ahead:
        ahead.submit(first)
        ahead.submit(second)
        assert (ahead.settle(), ahead.settle()) == ("a", "b")
    assert order == ["first", "second"]


def test_after_a_failed_call_the_next_ones_turn_refuses(caplog):
    reached = []

    def failing(turn) -> None:
        turn()
        raise KeyError("the first batch failed")

    def later(turn) -> None:
        turn()
        reached.append("committed")  # must not happen

    def run() -> None:
        with Ahead(threaded=True, name="test-ahead", width=2) as ahead:
            ahead.submit(failing)
            ahead.submit(later)
            ahead.settle()

    with pytest.raises(KeyError):
        run()
    assert reached == []
    assert "call in flight failed" not in caplog.text  # Abandoned is no error of its own
    with Ahead(threaded=False, name="test-ahead", width=1) as inline:
        inline.submit(failing)
        with pytest.raises(KeyError):
            inline.settle()
        inline.submit(later)
        with pytest.raises(Abandoned):
            inline.settle()


def test_a_later_calls_failure_leaves_an_earlier_one_to_commit():
    second_failed = threading.Event()

    def first(turn) -> str:
        second_failed.wait(5)
        turn()
        return "committed"

    def second(turn) -> None:
        second_failed.set()
        raise KeyError("the second batch failed")

    settled = []

    def run() -> None:
        with Ahead(threaded=True, name="test-ahead", width=2) as ahead:
            ahead.submit(first)
            ahead.submit(second)
            settled.append(ahead.settle())
            ahead.settle()

    with pytest.raises(KeyError):
        run()
    assert settled == ["committed"]


def test_leaving_on_an_error_waits_for_the_calls_in_flight():
    release, finished = threading.Event(), threading.Event()

    def slow(turn):
        release.wait(5)
        finished.set()

    def fail_while_writing():
        with Ahead(threaded=True, name="test-ahead") as ahead:
            ahead.submit(slow)
            threading.Timer(0.05, release.set).start()
            raise KeyError("the caller failed")

    with pytest.raises(KeyError):
        fail_while_writing()
    assert finished.is_set()
