"""Sending hours of a sequence's step: a daily window in the workspace's time zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def inside(moment: datetime, start: time, end: time, zone: ZoneInfo) -> bool:
    """Whether `moment` falls inside the window (one across midnight when start > end)."""
    local = moment.astimezone(zone).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_opening(
    moment: datetime, start: time | None, end: time | None, zone: ZoneInfo
) -> datetime:
    """`moment` itself when it is inside the window (or there is none), else when the window
    opens next. Built from the local date, so a change of clocks keeps the local hour."""
    if start is None or end is None or start == end or inside(moment, start, end, zone):
        return moment
    local = moment.astimezone(zone)
    opening = datetime.combine(local.date(), start, tzinfo=zone)
    if opening <= local:
        opening = datetime.combine(local.date() + timedelta(days=1), start, tzinfo=zone)
    return opening
