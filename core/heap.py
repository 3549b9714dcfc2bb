"""The garbage collector, set for a long-running process once it has started.

What start-up builds (modules, settings, URL maps, compiled templates, catalogues) lives as
long as the process, and every full collection walked all of it again: about 0.1 s each.
An import of 300,000 rows made 38 of them, 4.0 s of its CPU (bench_import.py, measured with
gc.callbacks); a sending worker spent 0.3 s of 10 on four. `settle` freezes that heap, so
collections leave it out, and has the oldest generation collected a tenth as often: the
rows of the batches in flight, which live long enough to reach it, are most of what a full
collection still walks (1.45 s in 38 collections frozen, 0.26 s in 6 at a tenth).
"""

from __future__ import annotations

import gc

# Collections of the middle generation between two full ones (Python's default is 10). A
# full collection also waits until the objects that reached the oldest generation since the
# last one are a quarter of those it held then.
FULL_COLLECTION_AFTER = 100


def settle() -> None:
    """Freeze what exists now (call once start-up is done) and space out full collections."""
    gc.collect()
    gc.freeze()
    young, middle, _oldest = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)
