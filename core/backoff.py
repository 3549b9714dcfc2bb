"""When to try again: exponential backoff with jitter (deliveries and outgoing webhooks)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

_rng = random.Random()  # noqa: S311 - spreads retries; nothing secret depends on it


@dataclass(frozen=True)
class Backoff:
    base: timedelta
    cap: timedelta
    jitter: float  # ±share of the delay, so that retries of one burst spread out

    def delay(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        """The wait after the `attempt`-th failed try (1-based): base·2^(attempt-1), capped."""
        exponent = min(max(attempt - 1, 0), 30)
        raw = min(self.base * (1 << exponent), self.cap)
        spread = (rng or _rng).uniform(-self.jitter, self.jitter)  # jitter, not crypto
        return raw * (1 + spread)

    def next_try(self, attempt: int, now: datetime, rng: random.Random | None = None) -> datetime:
        return now + self.delay(attempt, rng)
