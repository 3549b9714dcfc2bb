"""What imports count for /metrics (postroom.metrics exposes every registered metric)."""

from __future__ import annotations

from prometheus_client import Counter

IMPORT_ROWS = Counter(
    "postroom_import_rows",
    "CSV rows an import job has handled (rate() of it is the import speed in rows/s).",
)
