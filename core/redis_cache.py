"""Django's Redis cache, with one client per connection pool instead of one per operation.

Django's RedisCacheClient builds a new `redis.Redis` for every get, set or incr, which cost
more than half of a cache read's own CPU on this project's machines (bench: ~105 of ~300 µs
a `cache.get`). A `redis.Redis` is safe to share: each command borrows a connection from the
pool and gives it back, so one per pool serves every thread that uses this cache. The pools,
the options and every operation are Django's own.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, Any] = {}  # id(pool) -> its redis.Redis

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))  # the pools live as long as this client
        if client is None:
            # Two threads may both build one here; either serves, the last one stays.
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(django_redis.RedisCache):
    """settings.CACHES' BACKEND for Redis: Django's, with the client above."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def client(self, *, write: bool = False) -> Any:
        """The redis.Redis this cache's next read (or write) goes through."""
        return self._cache.get_client(write=write)  # type: ignore[attr-defined]

    def clear(self) -> None:
        """Forget this cache's keys. Django's clear empties the whole Redis database; with a
        KEY_PREFIX (CACHE_KEY_PREFIX: several instances, or test processes, sharing one
        database) only the keys under this prefix go, so a neighbour's stay."""
        if not self.key_prefix:
            super().clear()
            return
        client = self.client(write=True)
        pattern = _glob_escaped(self.key_prefix) + ":*"
        batch: list[bytes] = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) == 1000:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)


def _glob_escaped(text: str) -> str:
    """`text` matched literally by a Redis MATCH pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
