"""Callbacks run a little later, by one thread per process instead of a `threading.Timer` (a new thread) each.

A worker defers one write per run (its progress, see backend.services.execution); starting and stopping a
thread for each cost more than the write. Callbacks run one at a time on the shared thread, so one that
blocks delays the others (a progress write waits at most for the database's timeouts, and the writes are only
a mirror of what callers already got over the event bus); one that raises is logged and the others go on.
There is no cancel: a callback that is no longer wanted checks that itself when it runs.
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


class Later:
    """Runs `call_in(seconds, callback)` callbacks on one daemon thread, started on first use."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()  # ties keep their order, and callbacks are never compared
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def call_in(self, seconds: float, callback: Callable[[], None]) -> None:
        """Run `callback` on the shared thread once `seconds` have passed."""
        with self._changed:
            heapq.heappush(self._due, (time.monotonic() + seconds, next(self._order), callback))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="toolpress-later", daemon=True)
                self._thread.start()
            self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._changed.wait(self._due[0][0] - time.monotonic() if self._due else None)
                _, _, callback = heapq.heappop(self._due)
            try:
                callback()
            except Exception:
                logger.exception("a deferred callback failed")

    def _forget_after_fork(self) -> None:
        """In a forked child the thread is gone and the lock may be held: start afresh."""
        self._due, self._changed, self._thread = [], threading.Condition(), None


later = Later()
os.register_at_fork(after_in_child=later._forget_after_fork)
