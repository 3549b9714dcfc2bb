"""Small pieces of SQL shared by the hot paths."""

from __future__ import annotations

from collections.abc import Iterable


def id_array(ids: Iterable[int]) -> str:
    """Ids as a PostgreSQL array literal, for `= ANY(%s::bigint[])`: the driver's adapter
    for a list goes through Python per element, six times slower for a batch."""
    return "{" + ",".join(map(str, ids)) + "}"
