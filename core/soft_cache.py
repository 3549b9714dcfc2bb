"""The cache of figures that can be counted again: when the cache cannot be reached, a page
is slower, never an error.

Redis holds the figures several processes share (SingleFlight's, the audience's total, the
dashboard's reach). When it cannot be reached (restarted, or a worker host whose link to it is
down), a read here answers "not cached", a write or a forgetting is dropped, and `add` says
yes, so that each caller counts for itself. For PAUSE seconds after a failure this process's
thread does not ask it again, so a cache that times out does not hold up every request; a
warning says so, once a pause.

The API's budget per key (accounts.api.throttling) lets calls through the same way. Counters
that guard (the token endpoint's and sign-ups' limits, password-reset mails, two-factor
failures, the altcha's replay guard) use the cache directly and fail closed: a 503 that says
to try again in a minute (postroom.cache_outage), not an open door. Sign-in lockouts are
django-axes' rows in the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.core.cache import caches
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

PAUSE = 10.0
T = TypeVar("T")


def tolerant(call: Callable[[], T], instead: T) -> T:
    """`call()`, which uses the default cache; `instead` when the cache cannot be reached, or
    rests after a failure."""
    # The default cache of this thread (Django keeps one per thread); the pause is kept on it,
    # so a cache replaced by new settings starts afresh.
    backend = caches["default"]
    if time.monotonic() < getattr(backend, "_soft_down_until", 0.0):
        return instead
    try:
        return call()
    except (RedisError, OSError) as exc:
        backend._soft_down_until = time.monotonic() + PAUSE  # type: ignore[attr-defined]
        logger.warning("The cache cannot be reached (%s): going without it for %.0f s", exc, PAUSE)
        return instead


def get(key: str) -> Any:
    return tolerant(lambda: caches["default"].get(key), None)


def get_many(keys: Iterable[str]) -> dict[str, Any]:
    wanted = list(keys)
    return tolerant(lambda: caches["default"].get_many(wanted), {})


def set(key: str, value: Any, timeout: float | None) -> None:
    tolerant(lambda: caches["default"].set(key, value, timeout), None)


def set_many(values: Mapping[str, Any], timeout: float | None) -> None:
    tolerant(lambda: caches["default"].set_many(dict(values), timeout), None)


def add(key: str, value: Any, timeout: float | None) -> bool:
    """Whether `key` was not there and now is; without a cache, yes (each caller counts)."""
    return bool(tolerant(lambda: caches["default"].add(key, value, timeout), True))


def delete(key: str) -> None:
    tolerant(lambda: caches["default"].delete(key), None)
