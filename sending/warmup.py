"""The warm-up curve of a sending account: what its day limit is on a given local day.

A new account earns a reputation slowly: on day 1 of its warm-up it may send `warmup_start`
messages, and each following day `warmup_increase` percent more, until the account's own
`daily_limit` (the target). While the ramp is held (bounce or complaint rates passed their
thresholds, see `sending.services.account_warmup_hold`) the value stays where it was on the
day the hold began; the days held are not counted when it goes on.

Pure: no database. `quota` reads `day_limit` inside its conditional UPDATE, guarded by
`inputs` (the fields the value is computed from), so the reservation stays atomic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from sending.models import SendingAccount

# The fields `day_limit` reads: a reservation only matches a row that still has them.
INPUTS = (
    "daily_limit",
    "warmup_start",
    "warmup_increase",
    "warmup_started_on",
    "warmup_held_days",
    "warmup_held_since",
)
# How many days of the curve the account page and the API show.
CURVE_DAYS = 7


def inputs(account: SendingAccount) -> dict[str, object]:
    return {name: getattr(account, name) for name in INPUTS}


def is_warming(account: SendingAccount) -> bool:
    return account.warmup_start is not None and account.warmup_started_on is not None


def ramp(start: int, increase: int, target: int, step: int) -> int:
    """The value `step` days into the ramp: start x (1 + increase%)^step, rounded down (the
    limit is never exceeded by rounding), at most the target."""
    if start >= target:
        return target
    value = start * (1 + increase / 100) ** max(step, 0)
    # round() first: 100 x 1.1² is 121.00000000000001, and 1.15 x 100 is 114.99999999999999.
    return min(target, math.floor(round(value, 6)))


def step_on(account: SendingAccount, day: date) -> int:
    """Days of growth the ramp has had by `day`: days since the start less the days held."""
    started = account.warmup_started_on
    if started is None:
        return 0
    held_since = account.warmup_held_since
    until = min(day, held_since) if held_since is not None else day
    return max(0, (until - started).days - account.warmup_held_days)


def day_limit(account: SendingAccount, day: date) -> int:
    """The most the account may send on its local `day`: the warm-up value, or the daily
    limit when it is not warming up."""
    if not is_warming(account):
        return account.daily_limit
    assert account.warmup_start is not None  # noqa: S101 - is_warming says so
    return ramp(
        account.warmup_start, account.warmup_increase, account.daily_limit, step_on(account, day)
    )


@dataclass(frozen=True)
class CurveDay:
    day: date
    limit: int


def curve(account: SendingAccount, today: date, days: int = CURVE_DAYS) -> list[CurveDay]:
    """Today's value and the next days' (held: they stay at today's until resumed)."""
    return [
        CurveDay(today + timedelta(days=i), day_limit(account, today + timedelta(days=i)))
        for i in range(days)
    ]


def days_to_target(account: SendingAccount, today: date) -> int | None:
    """Days from `today` until the ramp reaches the daily limit (0: reached); None when it
    is held or the increase can never get there."""
    if not is_warming(account) or account.warmup_held_since is not None:
        return None
    assert account.warmup_start is not None  # noqa: S101 - is_warming says so
    step = step_on(account, today)
    for extra in range(3660):
        if (
            ramp(account.warmup_start, account.warmup_increase, account.daily_limit, step + extra)
            >= account.daily_limit
        ):
            return extra
    return None
