"""HMAC-SHA256 under a key that signs many short values (a token and a Message-ID for every
message a worker sends).

`hmac.digest` is OpenSSL's one-shot HMAC. CPython releases the GIL around it and takes it back
after, so each call hands the GIL to the process's other threads (a sending worker's outcome
writer, its other duties) for as long as they keep it, while the calling thread's connections
wait. Here the key is set up once, and each value's MAC is a copy of the keyed state: CPython
keeps the GIL through a hash's update under 2 KB, and through the copy and the digest.
"""

from __future__ import annotations

import functools
import hashlib
import hmac


def hmac_sha256(key: bytes, value: bytes) -> bytes:
    mac = _keyed(key).copy()
    mac.update(value)
    return mac.digest()


@functools.lru_cache(maxsize=16)
def _keyed(key: bytes) -> hmac.HMAC:
    return hmac.new(key, digestmod=hashlib.sha256)
