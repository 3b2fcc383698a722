"""The garbage collector of a long-running server process, tuned once its start-up is done.

Everything imported and built at start-up (modules, ORM mappers, pydantic models, the app's routes) lives as long
as the process; `gc.freeze()` moves it out of the collector's sight, so the full collections that a busy server
runs every few seconds no longer walk hundreds of thousands of objects that can never be garbage. The youngest
generation is collected after more allocations than Python's default 700: a call allocates thousands of short-lived
objects (requests, ORM rows, pydantic models), and most die by reference counting before any collection sees them.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def settle_after_startup() -> None:
    """Freeze what start-up built and collect the young generation less often (call once, when serving starts)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
