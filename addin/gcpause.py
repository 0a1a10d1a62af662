"""Bulk work (reading and checking every row) with Python's cycle collector paused.

The rows, cells and findings built in bulk hold no reference cycles, so reference counting
frees them; but the collector still runs every few hundred new objects, and each full pass
walks everything alive: the whole table read so far. At 100,000 rows that was about a third
of `validate` (benchmarks/bench.py --repeat 3: 5.1 s -> 3.5 s at the same peak memory). The
collector runs again as usual afterwards. Cheap to import: the ribbon uses it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Within the block no cycle collection runs; nested blocks leave it to the outermost."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
