"""Figures that take aggregate queries to compute, cached per owner with a single flight.

A page such as the dashboard or a campaign's report reads millions of rows to answer. Its
figures are cached for a short time (`ttl`) under a per-owner version: `invalidate(owner)`
bumps the version, so a change the user made shows on the next visit. When the figures run
out of time, one request computes them again while the others get the last figures of the same
version (at most `ttl` plus one computation old), rather than every open page running the same
aggregates at once: under 200 users a campaign's day of attempts made 15 requests compute the
dashboard together, 5 s each. With no figures of the current version at all (the first visit,
or the first after `invalidate`), the others wait for the one computing them instead: a
campaign's launch invalidated the dashboard under the same load, and 26 requests computed it
together, 2.3 s each, half of PostgreSQL's time for two minutes.

Redis serves the cache when configured, so all processes share the versions and the flight;
with the local-memory cache each process has its own, and the short TTL bounds how stale
another process can be. Through `core.soft_cache`: when the cache cannot be reached, figures
are computed at every request rather than not shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar
from uuid import uuid4

from core import soft_cache

T = TypeVar("T")


@dataclass(frozen=True)
class SingleFlight:
    """Cached figures named `name` ("dashboard", "report"), one set per owner id."""

    name: str
    ttl: int = 60
    # How long one request may compute while the others show the last figures (should it die,
    # another request computes them after this).
    computing: int = 30
    # How long the last figures stay usable as stale ones.
    keep: int = 26 * 3600

    def _version_key(self, owner: int) -> str:
        return f"{self.name}:version:{owner}"

    def _figures_key(self, owner: int, version: object) -> str:
        return f"{self.name}:figures:{owner}:{version or 0}"

    def invalidate(self, owner: int) -> None:
        """Forget `owner`'s figures: the next visit computes them. Cheap; call freely."""
        # Unique, not a counter: a counter evicted from the cache would start again at a
        # version whose figures may still be there.
        soft_cache.set(self._version_key(owner), uuid4().hex, None)

    def get(self, owner: int, compute: Callable[[], T], kind: type[T]) -> T:
        """`owner`'s figures from the cache when fresh (one round trip), else `compute()`d
        by this request or, while another computes them, the last ones of this version, or
        with none, those it computes once they are there. `kind` is the type of the
        figures: anything else found in the cache is not trusted."""
        version = soft_cache.get(self._version_key(owner)) or 0
        key = self._figures_key(owner, version)
        cached = soft_cache.get(key)
        if isinstance(cached, kind):
            return cached
        last_key = f"{self.name}:last:{owner}"
        # Per version: a computation of figures already out of date holds up nobody.
        computing_key = f"{self.name}:computing:{owner}:{version}"
        last = soft_cache.get(last_key)
        stale = last[1] if isinstance(last, tuple) and last[0] == version else None
        computing = soft_cache.add(computing_key, True, self.computing)
        deadline = time.monotonic() + self.computing
        pause = 0.01
        while not computing:  # another request is computing them
            if isinstance(stale, kind):
                return stale
            if time.monotonic() >= deadline:
                break  # it may have died: compute them here
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
            found = soft_cache.get(key)
            if isinstance(found, kind):
                return found
            # Gone without them (it failed): one of those waiting takes over.
            computing = soft_cache.add(computing_key, True, self.computing)
        try:
            result = compute()
            soft_cache.set(key, result, self.ttl)
            soft_cache.set(last_key, (version, result), self.keep)
        finally:
            if computing:  # after the figures are there, for those waiting for them
                soft_cache.delete(computing_key)
        return result

    def get_many(
        self,
        owners: Iterable[int],
        compute: Callable[[list[int]], dict[int, T]],
        kind: type[T],
    ) -> dict[int, T]:
        """Several owners' figures in two round trips when cached (a list of campaigns); the
        missing ones are `compute(missing)`d together, one query for all, which must answer
        for each. No flight here: a list misses only after `ttl` or an `invalidate`."""
        wanted = list(dict.fromkeys(owners))
        versions = soft_cache.get_many([self._version_key(owner) for owner in wanted])
        keys = {o: self._figures_key(o, versions.get(self._version_key(o))) for o in wanted}
        cached = soft_cache.get_many(list(keys.values()))
        found = {o: cached[keys[o]] for o in wanted if isinstance(cached.get(keys[o]), kind)}
        missing = [owner for owner in wanted if owner not in found]
        if missing:
            computed = compute(missing)
            soft_cache.set_many({keys[owner]: computed[owner] for owner in missing}, self.ttl)
            found.update((owner, computed[owner]) for owner in missing)
        return found
