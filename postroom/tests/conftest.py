"""Fixtures shared by postroom's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campaigns.tests.processes import PrivateRedis


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A Redis server of the test's own (campaigns.tests.processes.PrivateRedis)."""
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()
