"""Process draining: set when `serve` begins a graceful shutdown, read by code that holds long calls open.

A stopping API process must not cancel the runs its callers are waiting for: the runs belong to the
workers and the database, not to the process relaying their progress. While draining, calls relay
progress as usual until the grace period is nearly over; those still open then end with a clear error
naming the run, which keeps running in its worker and is recorded as usual.
"""

from __future__ import annotations

import threading
import time

# Calls still open this long before the grace period ends are closed, leaving time for the error
# result to reach the client before the server stops.
CLOSE_MARGIN_SECONDS = 2.0

_lock = threading.Lock()
_close_calls_at: float | None = None


def begin_draining(grace_seconds: float) -> None:
    """Mark the process as shutting down with `grace_seconds` left for open calls (first call wins)."""
    global _close_calls_at
    with _lock:
        if _close_calls_at is None:
            _close_calls_at = time.monotonic() + max(grace_seconds - CLOSE_MARGIN_SECONDS, 0.0)


def draining() -> bool:
    """Whether the process is shutting down."""
    return _close_calls_at is not None


def must_close_calls() -> bool:
    """Whether open calls must end now (draining, and the grace period is nearly over)."""
    deadline = _close_calls_at
    return deadline is not None and time.monotonic() >= deadline
