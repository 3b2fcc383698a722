"""Callbacks run a little later, by one thread per process instead of a `threading.Timer` (a new thread) each.

A worker defers one write per run (its progress, see backend.services.execution); starting and stopping a
thread for each cost more than the write. Callbacks run one at a time on the shared thread, so one that
blocks delays the others (a progress write waits at most for the database's timeouts, and the writes are only
a mirror of what callers already got over the event bus); one that raises is logged and the others go on.

The thread is woken only when a new callback falls due before all the others (it sleeps until the earliest),
and a callback that is cancelled before it falls due is dropped without waking it: most runs end before their
deferred write is due and cancel it, so under load the thread wakes about once per deferral interval, not twice
per run.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Deferred:
    """One callback waiting on the shared thread; `cancel()` stops it from running if it has not yet."""

    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Later:
    """Runs `call_in(seconds, callback)` callbacks on one daemon thread, started on first use."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Deferred]] = []
        self._order = itertools.count()  # ties keep their order, and callbacks are never compared
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def call_in(self, seconds: float, callback: Callable[[], None]) -> Deferred:
        """Run `callback` on the shared thread once `seconds` have passed, unless it is cancelled first."""
        deferred = Deferred(callback)
        with self._changed:
            heapq.heappush(self._due, (time.monotonic() + seconds, next(self._order), deferred))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="toolpress-later", daemon=True)
                self._thread.start()
            elif self._due[0][2] is deferred:  # due before the one the thread sleeps until
                self._changed.notify()
        return deferred

    def pending(self) -> int:
        """How many callbacks are held, cancelled ones the thread has not yet dropped included."""
        with self._changed:
            return len(self._due)

    def _next(self) -> Deferred:
        """Wait for the next callback due that is not cancelled, dropping cancelled ones on the way."""
        with self._changed:
            while True:
                while self._due and self._due[0][2].cancelled:
                    heapq.heappop(self._due)
                if self._due and self._due[0][0] <= time.monotonic():
                    return heapq.heappop(self._due)[2]
                self._changed.wait(self._due[0][0] - time.monotonic() if self._due else None)

    def _run(self) -> None:
        while True:
            deferred = self._next()
            try:
                deferred.callback()
            except Exception:
                logger.exception("a deferred callback failed")

    def _forget_after_fork(self) -> None:
        """In a forked child the thread is gone and the lock may be held: start afresh."""
        self._due, self._changed, self._thread = [], threading.Condition(), None


later = Later()
os.register_at_fork(after_in_child=later._forget_after_fork)
