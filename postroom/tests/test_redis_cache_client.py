"""The Redis cache backend (core.redis_cache) against a Redis server of the test's own: one
client serves every operation and thread, and it works again once Redis is back."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from redis.exceptions import RedisError

from campaigns.tests.processes import PrivateRedis
from core.redis_cache import RedisCache
from core.testing.fixtures import unreachable_caches
from postroom.tests.test_settings import manage


def client_of(cache: RedisCache, *, write: bool = False) -> Any:
    """The redis.Redis the backend's next operation will use."""
    return cache.client(write=write)


def _cache(url: str) -> RedisCache:
    return RedisCache(url, {"OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5}})


def test_the_settings_use_it_and_it_answers(broker: PrivateRedis):
    show = (
        "from django.core.cache import caches; cache = caches['default']; cache.set('k', 'v', 60); "
        "print(type(cache).__module__, cache.get('k'), "
        "cache._cache.get_client() is cache._cache.get_client(write=True))"
    )
    result = manage("shell", "-c", show, DEBUG="True", REDIS_URL=broker.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "core.redis_cache v True"
    assert unreachable_caches()["default"]["BACKEND"] == "core.redis_cache.RedisCache"


def test_one_client_serves_every_operation(broker: PrivateRedis):
    cache = _cache(broker.url)
    client = client_of(cache)

    cache.set("greeting", {"text": "Привет"}, 60)
    assert cache.get("greeting") == {"text": "Привет"}
    assert cache.incr("greeting-count", 1) if cache.add("greeting-count", 1) else True
    assert cache.get_many(["greeting", "missing"]) == {"greeting": {"text": "Привет"}}
    cache.delete("greeting")
    assert cache.get("greeting", "gone") == "gone"

    # Django's own client built a new redis.Redis for each of these calls.
    assert client_of(cache) is client
    assert client_of(cache, write=True) is client


def test_threads_share_the_client_without_losing_a_count(broker: PrivateRedis):
    cache = _cache(broker.url)
    cache.set("hits", 0, 60)

    def hit() -> None:
        for _ in range(200):
            cache.incr("hits")

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert cache.get("hits") == 1600


def test_the_kept_client_works_again_once_redis_is_back(broker: PrivateRedis):
    cache = _cache(broker.url)
    cache.set("before", 1, 60)
    client = client_of(cache)

    broker.stop()
    with pytest.raises(RedisError):
        cache.get("before")

    broker.start()  # the same port, empty: no persistence
    assert cache.get("before") is None
    cache.set("after", 2, 60)
    assert cache.get("after") == 2
    assert client_of(cache) is client


def test_clearing_a_prefixed_cache_leaves_its_neighbours_keys(broker: PrivateRedis):
    def prefixed(prefix: str) -> RedisCache:
        return RedisCache(broker.url, {"KEY_PREFIX": prefix})

    mine, neighbour, glob_like = prefixed("site-a"), prefixed("site-b"), prefixed("site-*")
    for i in range(2500):  # more than one SCAN page and one DELETE batch
        mine.set(f"k{i}", i, 60)
    neighbour.set("k1", "theirs", 60)
    glob_like.set("k1", "literal star", 60)

    mine.clear()

    assert mine.get_many(["k0", "k1", "k2499"]) == {}
    assert neighbour.get("k1") == "theirs"
    assert glob_like.get("k1") == "literal star"
    glob_like.clear()  # "site-*" matches its own keys only, not site-b's
    assert glob_like.get("k1") is None
    assert neighbour.get("k1") == "theirs"
    _cache(broker.url).clear()  # no prefix: the whole database, as Django's
    assert neighbour.get("k1") is None
