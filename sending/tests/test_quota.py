"""Atomic reservations: daily limit by local day, minimum wait, rolling hour, and races."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import OperationalError, connection

from accounts.tests.factories import WorkspaceFactory
from sending import quota
from sending.models import AccountStatus, SendingAccount
from sending.quota import NoRoom, Reservation
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db

# 23:30 in Tokyo (UTC+9, no daylight saving): local midnight is 15:00 UTC.
T0 = datetime(2026, 6, 1, 14, 30, tzinfo=UTC)


def account(**kwargs) -> SendingAccount:
    kwargs.setdefault("workspace", WorkspaceFactory.create(time_zone="Asia/Tokyo"))
    kwargs.setdefault("min_interval_seconds", 0)
    return SendingAccountFactory.create(**kwargs)


def test_the_daily_limit_resets_at_local_midnight_without_a_cron():
    acc = account(daily_limit=2)
    with time_machine.travel(T0, tick=False):
        assert isinstance(quota.reserve(acc, T0), Reservation)
        assert isinstance(quota.reserve(acc, T0), Reservation)
        full = quota.reserve(acc, T0)
    assert full == NoRoom(datetime(2026, 6, 1, 15, 0, tzinfo=UTC), "the daily limit is reached")
    next_day = T0 + timedelta(minutes=31)  # 00:01 in Tokyo, still 1 June in UTC
    assert isinstance(quota.reserve(acc, next_day), Reservation)
    acc.refresh_from_db()
    assert (acc.sent_today, str(acc.sent_day)) == (1, "2026-06-02")


def test_the_count_for_today_reads_zero_once_the_day_changed():
    acc = account(daily_limit=5)
    quota.reserve(acc, T0)
    acc.refresh_from_db()
    assert acc.sent_on(quota.local_day(acc.workspace, T0)) == 1
    assert acc.sent_on(quota.local_day(acc.workspace, T0 + timedelta(hours=1))) == 0


def test_the_minimum_wait_says_when_the_next_message_may_go():
    acc = account(min_interval_seconds=10)
    assert isinstance(quota.reserve(acc, T0), Reservation)
    early = quota.reserve(acc, T0 + timedelta(seconds=4))
    assert isinstance(early, NoRoom)
    assert early.until == T0 + timedelta(seconds=10)
    assert isinstance(quota.reserve(acc, T0 + timedelta(seconds=10)), Reservation)


@pytest.mark.parametrize(
    "reserve",
    [quota.reserve, lambda acc, now: quota.reserve_many(acc, now, 50)],
    ids=["one", "many"],
)
def test_without_a_minimum_wait_a_later_stamp_holds_nothing_back(reserve):
    """Two workers: the one whose step began later (or whose clock is ahead) stamped the
    account first. The other's batch, at its earlier `now`, still gets its room: with no
    minimum wait there is nothing to wait for (it was deferred as "the minimum wait")."""
    acc = account(daily_limit=1000)
    assert isinstance(quota.reserve_many(acc, T0 + timedelta(seconds=2), 50), Reservation)
    earlier = reserve(acc, T0)
    assert isinstance(earlier, Reservation), earlier
    acc.refresh_from_db()
    assert quota.room_state(acc, acc.workspace, T0) is None  # what the pages say, likewise


def test_the_workspace_hourly_limit_is_a_rolling_hour_across_accounts():
    workspace = WorkspaceFactory.create(hourly_limit=3)
    first, second = account(workspace=workspace), account(workspace=workspace)
    start = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    for minutes, acc in [(0, first), (10, second), (20, first)]:
        assert isinstance(quota.reserve(acc, start + timedelta(minutes=minutes)), Reservation)
    blocked = quota.reserve(second, start + timedelta(minutes=30))
    assert blocked == NoRoom(start + timedelta(hours=1), "the workspace's hourly limit is reached")
    assert isinstance(quota.reserve(second, start + timedelta(minutes=59)), NoRoom)
    assert isinstance(quota.reserve(second, start + timedelta(minutes=60)), Reservation)
    assert quota.hour_used(workspace, start + timedelta(minutes=60)) == 3


def test_old_minute_buckets_are_pruned_as_it_goes():
    from sending.models import SendBucket

    acc = account()
    start = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    for hours in range(5):
        quota.reserve(acc, start + timedelta(hours=hours))
    assert SendBucket.objects.filter(workspace=acc.workspace).count() <= 3


@pytest.mark.parametrize("status", [AccountStatus.PENDING, AccountStatus.INACTIVE, "error"])
def test_an_account_that_is_not_active_gets_no_room_and_no_time(status):
    acc = account(status=status)
    result = quota.reserve(acc, T0)
    assert isinstance(result, NoRoom)
    assert result.until is None


def test_a_stopped_workspace_gets_no_room():
    acc = account()
    acc.workspace.sending_stopped_at = T0
    acc.workspace.save()
    assert quota.reserve(acc, T0) == NoRoom(None, "sending is stopped for this workspace")


def test_release_gives_the_room_back():
    acc = account(daily_limit=1)
    taken = quota.reserve(acc, T0)
    assert isinstance(taken, Reservation)
    quota.release(taken)
    assert isinstance(quota.reserve(acc, T0), Reservation)


def test_reset_daily_email_counts_still_exists():
    from django.core.management import call_command

    acc = account(daily_limit=1)
    quota.reserve(acc, T0)
    call_command("reset_daily_email_counts", stdout=open("/dev/null", "w"))  # noqa: SIM115
    acc.refresh_from_db()
    assert acc.sent_today == 0


def reserve_waiting(acc: SendingAccount, now: datetime) -> object:
    """reserve(), waiting while another thread holds the database as busy_timeout would.

    The tests' in-memory SQLite shares one cache between threads, and shared-cache locks fail
    at once ("table is locked") instead of waiting; a file database in WAL mode waits by
    itself, and PostgreSQL never gets here.
    """
    while True:
        try:
            return quota.reserve(acc, now)
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.005)


@pytest.mark.django_db(transaction=True)
def test_threads_racing_for_the_last_slots_never_exceed_the_limit():
    acc = account(daily_limit=3)
    results: list[object] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(reserve_waiting(acc, T0))
        except Exception as exc:  # shown by the assertion, not lost in the thread
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(isinstance(r, Reservation) for r in results) == 3
    assert sum(isinstance(r, NoRoom) for r in results) == 5
    acc.refresh_from_db()
    assert acc.sent_today == 3


@pytest.mark.django_db(transaction=True)
def test_threads_on_two_accounts_share_the_workspace_hour_exactly():
    workspace = WorkspaceFactory.create(hourly_limit=4)
    accounts = [account(workspace=workspace, daily_limit=100) for _ in range(2)]
    results: list[object] = []
    barrier = threading.Barrier(10)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            results.append(reserve_waiting(accounts[n % 2], T0))
        except Exception as exc:  # shown by the assertion, not lost in the thread
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(isinstance(r, Reservation) for r in results) == 4


def test_an_old_copy_of_the_account_still_keeps_the_current_minimum_wait():
    acc = account(min_interval_seconds=0)
    old_copy = SendingAccount.objects.get(pk=acc.pk)
    SendingAccount.objects.filter(pk=acc.pk).update(min_interval_seconds=60)
    assert isinstance(quota.reserve(old_copy, T0), Reservation)
    too_soon = quota.reserve(old_copy, T0 + timedelta(seconds=30))
    assert isinstance(too_soon, NoRoom)
    assert too_soon.until == T0 + timedelta(seconds=60)


def test_a_reservation_is_one_conditional_update_and_a_bucket(django_assert_max_num_queries):
    acc = account()
    quota.reserve(acc, T0)  # the first of a minute also makes its bucket and prunes old ones
    # Then: read the workspace, the conditional UPDATE, the bucket, and the savepoint's pair.
    with django_assert_max_num_queries(5) as queries:
        assert isinstance(quota.reserve(acc, T0), Reservation)
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    account_update = next(sql for sql in updates if "sending_sendingaccount" in sql.split()[1])
    assert "sending_stopped_at" in account_update  # the stop is read in the UPDATE itself
    assert "daily_limit" in account_update


def test_many_at_once_take_what_the_day_leaves_in_one_reservation():
    acc = account(daily_limit=10)
    with time_machine.travel(T0, tick=False):
        first = quota.reserve_many(acc, T0, 7)
        second = quota.reserve_many(acc, T0, 7)
        third = quota.reserve_many(acc, T0, 7)
    assert isinstance(first, Reservation)
    assert first.count == 7
    assert isinstance(second, Reservation)
    assert second.count == 3
    assert isinstance(third, NoRoom)
    acc.refresh_from_db()
    assert acc.sent_today == 10


def test_many_at_once_respect_the_minimum_wait_and_the_hourly_limit():
    waiting = account(daily_limit=100, min_interval_seconds=1)
    taken = quota.reserve_many(waiting, T0, 50)
    assert isinstance(taken, Reservation)
    assert taken.count == 1
    hourly = account(daily_limit=100, workspace=WorkspaceFactory.create(hourly_limit=5))
    capped = quota.reserve_many(hourly, T0, 50)
    assert isinstance(capped, Reservation)
    assert capped.count == 5
    assert quota.hour_used(hourly.workspace, T0) == 5
    assert isinstance(quota.reserve_many(hourly, T0, 50), NoRoom)


def test_unsent_messages_of_a_reservation_are_given_back():
    acc = account(daily_limit=10)
    taken = quota.reserve_many(acc, T0, 8)
    assert isinstance(taken, Reservation)
    quota.release(taken, 5)
    acc.refresh_from_db()
    assert acc.sent_today == 3
    assert quota.hour_used(acc.workspace, T0) == 3
