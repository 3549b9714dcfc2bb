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

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, F, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import LessThan

from accounts.models import Workspace
from sending.models import AccountStatus, SendBucket, SendingAccount

HOUR = timedelta(hours=1)
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


@dataclass(frozen=True)
class NoRoom:
    """No room now. `until`: the earliest time there may be room; None: a person must act."""

    until: datetime | None
    reason: str


def local_day(workspace: Workspace, now: datetime) -> date:
    """The date at `now` in the workspace's time zone (UTC when the zone is unknown)."""
    return now.astimezone(_zone(workspace)).date()


def next_local_midnight(workspace: Workspace, now: datetime) -> datetime:
    zone = _zone(workspace)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time.min, tzinfo=zone)


def _zone(workspace: Workspace) -> ZoneInfo:
    try:
        return ZoneInfo(workspace.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


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


def _room(
    account: SendingAccount, workspace: Workspace, day: date, now: datetime, want: int
) -> int:
    """How many messages the account may take now, as far as its counters tell."""
    room = min(want, account.daily_limit - account.sent_on(day))
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
        # `account` may be an old copy whose minimum wait was edited since: try with the row.
        if current.min_interval_seconds != account.min_interval_seconds and _take(
            current, workspace, day, now
        ):
            return _reserved(current, workspace, day, now)
    return _no_room(current, workspace, day, now)


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
    conditions = Q(pk=account.pk, status=AccountStatus.ACTIVE)
    new_day = ~Q(sent_day=day) | Q(sent_day__isnull=True)
    conditions &= (new_day & Q(daily_limit__gte=count)) | Q(
        sent_today__lte=F("daily_limit") - count
    )
    # Guarded by the wait it was computed with: a row edited meanwhile does not match.
    wait = timedelta(seconds=account.min_interval_seconds)
    conditions &= Q(min_interval_seconds=account.min_interval_seconds) & (
        Q(last_sent_at__isnull=True) | Q(last_sent_at__lte=now - wait)
    )
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
    if account.status != AccountStatus.ACTIVE:
        return NoRoom(None, f"the account is {account.get_status_display().lower()}")
    if workspace.sending_stopped:
        return NoRoom(None, "sending is stopped for this workspace")
    waits: list[tuple[datetime, str]] = []
    if account.sent_on(day) >= account.daily_limit:
        waits.append((next_local_midnight(workspace, now), "the daily limit is reached"))
    if account.last_sent_at is not None:
        ready = account.last_sent_at + timedelta(seconds=account.min_interval_seconds)
        if ready > now:
            waits.append((ready, "the minimum wait between messages"))
    hourly = _hourly_room_at(workspace, now)
    if hourly is not None:
        waits.append((hourly, "the workspace's hourly limit is reached"))
    if not waits:  # changed under us between the UPDATE and now: try again at once
        return NoRoom(now, "the account changed meanwhile")
    return NoRoom(*max(waits))


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
    A reservation of a day that is over gives back nothing of the new day's count.
    """
    n = reservation.count if count is None else min(count, reservation.count)
    if n <= 0:
        return
    with transaction.atomic():
        SendingAccount.objects.filter(
            pk=reservation.account_id, sent_day=reservation.day, sent_today__gte=n
        ).update(sent_today=F("sent_today") - n)
        SendBucket.objects.filter(
            workspace_id=reservation.workspace_id, minute=reservation.minute, count__gte=n
        ).update(count=F("count") - n)


def reset_daily_counts(workspace: Workspace | None = None) -> int:
    """Set every account's count for the day to zero (the seed's manual reset)."""
    accounts = SendingAccount.objects.all()
    if workspace is not None:
        accounts = accounts.filter(workspace=workspace)
    return accounts.update(sent_today=0)
