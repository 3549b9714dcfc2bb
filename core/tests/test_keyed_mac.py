"""The keyed HMAC gives what the standard one-shot HMAC gives, for keys shorter and longer than
SHA-256's block (a longer key is hashed first), and from several threads at once."""

from __future__ import annotations

import hmac
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.keyed_mac import hmac_sha256

KEYS = [b"", b"k" * 32, b"k" * 64, b"k" * 65, bytes(range(256)) * 2]
VALUES = [b"", b"1.123456", b"v" * 3000]


@pytest.mark.parametrize("key", KEYS, ids=lambda k: f"{len(k)}-byte key")
def test_it_is_hmac_sha256(key):
    for value in VALUES:
        assert hmac_sha256(key, value) == hmac.digest(key, value, "sha256")
    # The keyed state is not changed by a value: the second answer is the first.
    assert hmac_sha256(key, b"again") == hmac_sha256(key, b"again")


def test_threads_sharing_a_key_each_get_their_own_value():
    key = b"shared-secret-key" * 5
    values = [f"{n}.{n * 7}".encode() for n in range(2000)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda v: hmac_sha256(key, v), values))
    assert got == [hmac.digest(key, v, "sha256") for v in values]
