"""Atomic reservations of room to send: per account per local day, the minimum wait between
two messages, and the workspace's rolling hour.

`reserve()` is one conditional UPDATE on the account row; it succeeds only when every limit
leaves room, so two workers can never both take the last slot. When the workspace has an
hourly limit its row is locked first (FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE
transactions serialise writers anyway) so that accounts sharing that limit queue for it
instead of racing; otherwise accounts of one workspace reserve in parallel.

No room is not a failure: `NoRoom.until` says when there will be room (None when only a person
can make room: the account is not active or the workspace's sending is stopped).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, F, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.db.models.lookups import LessThan
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import Workspace
from accounts.services import workspace_room_changed
from sending import warmup
from sending.models import AccountStatus, QuotaHold, SendBucket, SendingAccount

HOUR = timedelta(hours=1)
# Why there is no room, as NoRoom.reason says it (and a delivery put back keeps in its reply):
# the engine re-plans the deliveries waiting for one of these when a limit is lifted.
# Marked for translation (pages translate them where they show them); stored as they are.
DAILY_LIMIT_REACHED = gettext_noop("the daily limit is reached")
MINIMUM_WAIT = gettext_noop("the minimum wait between messages")
HOURLY_LIMIT_REACHED = gettext_noop("the workspace's hourly limit is reached")
SENDING_STOPPED = gettext_noop("sending is stopped for this workspace")
LIMIT_REASONS = (DAILY_LIMIT_REACHED, MINIMUM_WAIT, HOURLY_LIMIT_REACHED)
# Buckets this old can no longer count towards any rolling hour.
BUCKET_KEEP = timedelta(hours=2)


@dataclass(frozen=True)
class Reservation:
    """Room taken for `count` messages; give back what was not sent with `release()`."""

    account_id: int
    workspace_id: int
    day: date
    minute: datetime
    count: int = 1
    hold_id: int | None = None  # its QuotaHold (see `reserve_held`)


@dataclass(frozen=True)
class NoRoom:
    """No room now. `until`: the earliest time there may be room; None: a person must act."""

    until: datetime | None
    reason: str  # for people
    # For counting (the engine's quota-wait metric): one of WAIT_KINDS.
    kind: str = field(default="other", compare=False)


# Why deliveries wait for room, as the engine's metric names it.
WAIT_KINDS = (
    "daily_limit",
    "hourly_limit",
    "minimum_wait",
    "account_not_active",
    "sending_stopped",
    "no_account",
    "other",
)


def local_day(workspace: Workspace, now: datetime) -> date:
    """The date at `now` in the workspace's time zone (UTC when the zone is unknown)."""
    return now.astimezone(workspace.zone).date()


def next_local_midnight(workspace: Workspace, now: datetime) -> datetime:
    zone = workspace.zone
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time.min, tzinfo=zone)


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def _window_start(now: datetime) -> datetime:
    # The bucket of the current minute and the 59 before it: a rolling hour to the minute.
    return _minute(now) - timedelta(minutes=59)


def reserve_many(account: SendingAccount, now: datetime, want: int) -> Reservation | NoRoom:
    """Take room for up to `want` messages at once (a batch of the engine), in one UPDATE.

    An account with a minimum wait gets at most one. Otherwise as many as its daily limit
    and the workspace's rolling hour leave; `Reservation.count` says how many. If another
    writer takes room between the read and the UPDATE, it reads again (a few times).
    """
    if want <= 1 or account.min_interval_seconds > 0:
        return reserve(account, now)
    for _ in range(3):
        with transaction.atomic():
            workspace = _workspace(account.workspace_id)
            day = local_day(workspace, now)
            current = SendingAccount.objects.get(pk=account.pk)
            room = _room(current, workspace, day, now, want)
            if room <= 0 or current.min_interval_seconds > 0:
                break
            if _take(current, workspace, day, now, room):
                _count_in_bucket(workspace, now, room)
                return Reservation(current.pk, workspace.pk, day, _minute(now), room)
    return reserve(account, now)  # one at a time says exactly why there is no room


def reserve_held(
    account: SendingAccount,
    now: datetime,
    items: list[int],
    *,
    holder: str,
    until: datetime,
) -> Reservation | NoRoom:
    """`reserve_many` for `items` (the caller's ids, the first `count` of which the room is
    for), written down as held by `holder` until `until` in the same transaction.

    `release()` settles the hold. If the holder dies before (its hold not renewed by
    `renew_holds`), `give_back_expired` returns the room its items did not use.
    """
    with transaction.atomic():
        taken = reserve_many(account, now, len(items))
        if isinstance(taken, NoRoom):
            return taken
        hold = QuotaHold.objects.create(
            account_id=taken.account_id,
            workspace_id=taken.workspace_id,
            holder=holder,
            day=taken.day,
            minute=taken.minute,
            count=taken.count,
            items=items[: taken.count],
            created_at=now,
            expires_at=until,
        )
    return replace(taken, hold_id=hold.pk)


def renew_holds(holder: str, until: datetime, since: datetime) -> int:
    """The holder is alive and still working on what it reserved from `since` on: those
    holds run until `until`. (Older ones are of work it gave up: they run out.)"""
    holds = QuotaHold.objects.filter(holder=holder, created_at__gte=since)
    return holds.update(expires_at=until)


def give_back_expired(now: datetime, used: Callable[[QuotaHold], int], limit: int = 100) -> int:
    """Settle holds whose holder did not in time (it died or hung past its lease): give back
    the room of their items that `used(hold)` says did not use it. Returns how much.

    Each hold is taken by deleting it, so that it is given back once, whether by this or by
    its holder's own late `release()`.
    """
    holds = QuotaHold.objects.filter(expires_at__lt=now).order_by("expires_at")[:limit]
    return _give_back(list(holds), used)


def give_back_held(holder: str, used: Callable[[QuotaHold], int]) -> int:
    """Settle every hold of `holder` now, as `give_back_expired` does: for a holder whose
    work failed part-way and who gives its items back at once."""
    return _give_back(list(QuotaHold.objects.filter(holder=holder)), used)


def _give_back(holds: list[QuotaHold], used: Callable[[QuotaHold], int]) -> int:
    given = 0
    for hold in holds:
        with transaction.atomic():
            if not QuotaHold.objects.filter(pk=hold.pk).delete()[0]:
                continue  # settled meanwhile
            unused = hold.count - min(used(hold), hold.count)
            release(
                Reservation(hold.account_id, hold.workspace_id, hold.day, hold.minute, hold.count),
                unused,
            )
            given += unused
    return given


def _room(
    account: SendingAccount, workspace: Workspace, day: date, now: datetime, want: int
) -> int:
    """How many messages the account may take now, as far as its counters tell."""
    room = min(want, warmup.day_limit(account, day) - account.sent_on(day))
    if workspace.hourly_limit is not None:
        room = min(room, workspace.hourly_limit - hour_used(workspace, now))
    return room


def reserve(account: SendingAccount, now: datetime) -> Reservation | NoRoom:
    """Take room for one message on `account` at `now`, or say when there will be room.

    Counts the message for the account's local day (starting a new day's count when the date
    changed), stamps `last_sent_at` and adds it to the workspace's current minute bucket, all
    in one transaction. Works inside an outer transaction too (the room is then held until it
    commits). `account` is not modified; reload it to see the new counters.
    """
    with transaction.atomic():
        workspace = _workspace(account.workspace_id)
        day = local_day(workspace, now)
        if _take(account, workspace, day, now):
            return _reserved(account, workspace, day, now)
        current = SendingAccount.objects.get(pk=account.pk)
        # `account` may be an old copy whose minimum wait or day limit (a warm-up's inputs)
        # was changed since: try with the row.
        changed = current.min_interval_seconds != account.min_interval_seconds or (
            warmup.inputs(current) != warmup.inputs(account)
        )
        if changed and _take(current, workspace, day, now):
            return _reserved(current, workspace, day, now)
    return _no_room(current, workspace, day, now)


def reserve_tests(account: SendingAccount, now: datetime, count: int) -> Reservation | NoRoom:
    """Room for `count` test messages, all or none, counted like campaign mail on the
    account's day and the workspace's rolling hour.

    Unlike `reserve`, it neither waits for the minimum time between messages (a person is
    waiting for the tests) nor asks for an active account (a test is how an account is
    checked). NoRoom says which limit is reached; its `until` is when there is room again.
    """
    with transaction.atomic():
        workspace = _workspace(account.workspace_id)
        day = local_day(workspace, now)
        current = SendingAccount.objects.get(pk=account.pk)
        rows = SendingAccount.objects.filter(Q(pk=current.pk) & _day_room(current, day, count))
        if workspace.hourly_limit is not None:
            used = _hour_used_expression(workspace, now)
            rows = rows.filter(LessThan(used + (count - 1), workspace.hourly_limit))
        if rows.update(sent_today=_case_same_day(day, count), sent_day=day):
            _count_in_bucket(workspace, now, count)
            return Reservation(account.pk, workspace.pk, day, _minute(now), count)
        current = SendingAccount.objects.get(pk=account.pk)
    left = max(0, warmup.day_limit(current, day) - current.sent_on(day))
    if left < count:
        return NoRoom(
            next_local_midnight(workspace, now),
            f"the account's daily limit leaves room for {left} more today",
            "daily_limit",
        )
    return NoRoom(_hourly_room_at(workspace, now) or now, HOURLY_LIMIT_REACHED, "hourly_limit")


def _workspace(workspace_id: int) -> Workspace:
    """The workspace, locked when its accounts share an hourly limit.

    The lock (FOR UPDATE on PostgreSQL; SQLite serialises writers anyway) makes reservations
    of one workspace queue for the hour instead of racing; without an hourly limit the
    account row's own conditional UPDATE is all the atomicity needed, so accounts of one
    workspace reserve in parallel.
    """
    workspace = Workspace.objects.get(pk=workspace_id)
    if workspace.hourly_limit is None:
        return workspace
    return Workspace.objects.select_for_update().get(pk=workspace_id)


def _reserved(
    account: SendingAccount, workspace: Workspace, day: date, now: datetime
) -> Reservation:
    _count_in_bucket(workspace, now)
    return Reservation(account.pk, workspace.pk, day, _minute(now))


def _take(
    account: SendingAccount, workspace: Workspace, day: date, now: datetime, count: int = 1
) -> bool:
    """The conditional UPDATE: true when it took room for `count` messages."""
    conditions = Q(pk=account.pk, status=AccountStatus.ACTIVE) & _day_room(account, day, count)
    # Guarded by the wait it was computed with: a row edited meanwhile does not match.
    conditions &= Q(min_interval_seconds=account.min_interval_seconds)
    if account.min_interval_seconds:
        # Without a wait `last_sent_at` says nothing: another worker's later `now` (its step
        # began after this one's, or its clock is ahead) must not hold this one's batch back.
        wait = timedelta(seconds=account.min_interval_seconds)
        conditions &= Q(last_sent_at__isnull=True) | Q(last_sent_at__lte=now - wait)
    # The stop is read in the UPDATE itself, so a stop that commits first is always seen.
    running = Exists(Workspace.objects.filter(pk=workspace.pk, sending_stopped_at__isnull=True))
    rows = SendingAccount.objects.filter(conditions, running)
    if workspace.hourly_limit is not None:
        rows = rows.filter(
            LessThan(_hour_used_expression(workspace, now) + (count - 1), workspace.hourly_limit)
        )
    updated = rows.update(
        sent_today=_case_same_day(day, count),
        sent_day=day,
        last_sent_at=now,
    )
    return updated == 1


def _day_room(account: SendingAccount, day: date, count: int) -> Q:
    """The row has room for `count` more on `day` under its day limit (the warm-up value
    when it warms up), computed from `account` as read: guarded by the fields it was
    computed from, so that a row changed meanwhile does not match (the caller reads it
    again) and the count can never pass the day's limit."""
    limit = warmup.day_limit(account, day)
    new_day = ~Q(sent_day=day) | Q(sent_day__isnull=True)
    fresh = new_day if limit >= count else Q(pk__in=[])
    return Q(**warmup.inputs(account)) & (fresh | Q(sent_today__lte=limit - count))


def _case_same_day(day: date, count: int = 1) -> Case:
    return Case(When(sent_day=day, then=F("sent_today") + count), default=Value(count))


def _hour_used_expression(workspace: Workspace, now: datetime) -> Coalesce:
    used = (
        SendBucket.objects.filter(workspace=workspace, minute__gte=_window_start(now))
        .values("workspace")
        .annotate(total=Sum("count"))
        .values("total")
    )
    return Coalesce(Subquery(used), Value(0))


def _count_in_bucket(workspace: Workspace, now: datetime, count: int = 1) -> None:
    minute = _minute(now)
    bucket = SendBucket.objects.filter(workspace=workspace, minute=minute)
    if bucket.update(count=F("count") + count):
        return
    try:
        with transaction.atomic():
            SendBucket.objects.create(workspace=workspace, minute=minute, count=count)
    except IntegrityError:  # made meanwhile by a writer that did not hold the workspace lock
        bucket.update(count=F("count") + count)
        return
    # A new minute: the moment to forget buckets no rolling hour can reach any more.
    SendBucket.objects.filter(workspace=workspace, minute__lt=minute - BUCKET_KEEP).delete()


def hour_used(workspace: Workspace, now: datetime) -> int:
    """Messages the workspace sent in the rolling hour up to `now`."""
    total = SendBucket.objects.filter(
        workspace=workspace, minute__gte=_window_start(now), minute__lte=now
    ).aggregate(total=Sum("count"))["total"]
    return int(total or 0)


def _no_room(account: SendingAccount, workspace: Workspace, day: date, now: datetime) -> NoRoom:
    return room_state(account, workspace, now, day=day) or NoRoom(
        now,
        "the account changed meanwhile",  # changed between the UPDATE and now: try again
    )


def room_state(
    account: SendingAccount, workspace: Workspace, now: datetime, *, day: date | None = None
) -> NoRoom | None:
    """Why `account` (as read) cannot take a message at `now` and until when; None: it can.

    Reads only: what `reserve()` would say, for pages that tell when a campaign resumes.
    """
    day = day or local_day(workspace, now)
    if account.status != AccountStatus.ACTIVE:
        return NoRoom(
            None, f"the account is {account.get_status_display().lower()}", "account_not_active"
        )
    if workspace.sending_stopped:
        return NoRoom(None, SENDING_STOPPED, "sending_stopped")
    waits: list[tuple[datetime, str, str]] = []
    if account.sent_on(day) >= warmup.day_limit(account, day):
        waits.append((next_local_midnight(workspace, now), DAILY_LIMIT_REACHED, "daily_limit"))
    if account.last_sent_at is not None and account.min_interval_seconds:
        ready = account.last_sent_at + timedelta(seconds=account.min_interval_seconds)
        if ready > now:
            waits.append((ready, MINIMUM_WAIT, "minimum_wait"))
    hourly = _hourly_room_at(workspace, now)
    if hourly is not None:
        waits.append((hourly, HOURLY_LIMIT_REACHED, "hourly_limit"))
    return NoRoom(*max(waits)) if waits else None


def room_today(accounts: list[SendingAccount], workspace: Workspace, now: datetime) -> int:
    """Messages the active `accounts` together may still send in the workspace's day.

    Each account's daily limit less what it sent today, bounded by the hourly limit over the
    hours left in the day (plus the room of the current hour).
    """
    day = local_day(workspace, now)
    room = sum(
        max(0, warmup.day_limit(a, day) - a.sent_on(day))
        for a in accounts
        if a.status == AccountStatus.ACTIVE
    )
    if workspace.hourly_limit is not None:
        hours_left = (next_local_midnight(workspace, now) - now) / HOUR
        this_hour = max(0, workspace.hourly_limit - hour_used(workspace, now))
        room = min(room, this_hour + int(max(0.0, hours_left - 1) * workspace.hourly_limit))
    return room


def day_room(accounts: list[SendingAccount], workspace: Workspace, day: date) -> int:
    """What the active `accounts` together may send in a whole `day` to come: their limits
    for that day (warm-ups' values), bounded by 24 hourly limits."""
    room = sum(warmup.day_limit(a, day) for a in accounts if a.status == AccountStatus.ACTIVE)
    if workspace.hourly_limit is not None:
        room = min(room, 24 * workspace.hourly_limit)
    return room


def room_may_come_sooner(before: SendingAccount, after: SendingAccount, day: date) -> bool:
    """Whether an edit of an account lifted one of its limits on `day` (or made it usable
    again)."""
    return (
        after.daily_limit > before.daily_limit
        or warmup.day_limit(after, day) > warmup.day_limit(before, day)
        or after.min_interval_seconds < before.min_interval_seconds
        or (after.status == AccountStatus.ACTIVE and before.status != AccountStatus.ACTIVE)
    )


def _hourly_room_at(workspace: Workspace, now: datetime) -> datetime | None:
    """When enough of the rolling hour ages out to leave room; None when there is room."""
    limit = workspace.hourly_limit
    if limit is None:
        return None
    buckets = (
        SendBucket.objects.filter(workspace=workspace, minute__gte=_window_start(now))
        .order_by("minute")
        .values_list("minute", "count")
    )
    used = sum(count for _, count in buckets)
    if used < limit:
        return None
    for minute, count in buckets:
        used -= count
        if used < limit:
            return minute + HOUR  # that bucket leaves the window a full hour after its minute
    return now + HOUR  # a limit of 0: no time brings room, look again in an hour


def release(reservation: Reservation, count: int | None = None) -> None:
    """Give back room for `count` (default: all) of a reservation's messages not sent.

    Only the counts are given back; `last_sent_at` stays, so the minimum wait still holds.
    A reservation of a day that is over gives back nothing of the new day's count. A held
    reservation is settled: its hold goes, and if `give_back_expired` took it first (the
    holder was too slow), nothing is given back twice.
    """
    n = reservation.count if count is None else min(count, reservation.count)
    with transaction.atomic():
        hold = reservation.hold_id
        if hold is not None and not QuotaHold.objects.filter(pk=hold).delete()[0]:
            return  # already given back when it expired
        if n <= 0:
            return
        SendingAccount.objects.filter(
            pk=reservation.account_id, sent_day=reservation.day, sent_today__gte=n
        ).exclude(day_closed_on=reservation.day).update(sent_today=F("sent_today") - n)
        SendBucket.objects.filter(
            workspace_id=reservation.workspace_id, minute=reservation.minute, count__gte=n
        ).update(count=F("count") - n)


def reset_daily_counts(workspace: Workspace | None = None) -> int:
    """Set every account's count for the day to zero (the seed's manual reset).

    The deliveries waiting for the next day may go now: their workspaces are marked for the
    engine to re-plan them.
    """
    accounts = SendingAccount.objects.all()
    if workspace is not None:
        accounts = accounts.filter(workspace=workspace)
    now = timezone.now()
    counted = accounts.filter(sent_today__gt=0).values_list("workspace_id", flat=True)
    for workspace_id in set(counted):
        workspace_room_changed(workspace_id=workspace_id, now=now)
    return accounts.update(sent_today=0, day_closed_on=None)


def close_day(*, account_id: int, now: datetime) -> bool:
    """The account's provider says its sending limit is used up: count the account's local
    day as full, so that nothing more is reserved on it until its next day, and room given
    back by the batches still running does not open it again (`release`). True if the day
    closed now (False: it was closed already, or the account is gone).

    Raising the account's daily limit, or resetting the day's counts, opens it again: a
    person who says so knows better than the provider's last answer.
    """
    account = SendingAccount.objects.filter(pk=account_id).select_related("workspace").first()
    if account is None:
        return False
    day = local_day(account.workspace, now)
    full = warmup.day_limit(account, day)
    closed = (
        SendingAccount.objects.filter(pk=account_id)
        .exclude(day_closed_on=day)
        .update(
            day_closed_after=_case_same_day(day, 0),  # what it had sent: evaluated first
            sent_today=Greatest(Value(full), _case_same_day(day, 0)),
            sent_day=day,
            day_closed_on=day,
        )
    )
    return closed == 1
