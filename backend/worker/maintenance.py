"""The embedded stand-in for Celery beat: the periodic jobs of a `toolpress serve` without external services.

One daemon thread runs each job every interval: the clean-up of old runs, the sweep that ends (or
queues again) runs whose worker is gone, and the end of runs that waited too long for an answer. The sweep also runs once at start, so a run cut off when the
previous server process died is not left "running" until the first interval is up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from backend.core.settings import Settings
from backend.services.lost_runs import sweep_lost_runs
from backend.services.questions import expire_waiting_runs
from backend.worker.retention import purge

logger = logging.getLogger(__name__)


@dataclass
class _Job:
    what: str
    run: Callable[[], object]
    every: float
    due: float


class MaintenanceLoop:
    """Runs the periodic jobs in a daemon thread until stopped."""

    def __init__(self, settings: Settings) -> None:
        now = time.monotonic()
        self._jobs = [_Job("the sweep for runs that lost their worker", lambda: sweep_lost_runs(settings),
                           settings.lost_run_sweep_seconds, now),
                      _Job("the end of runs whose question went unanswered", lambda: expire_waiting_runs(settings),
                           settings.lost_run_sweep_seconds, now)]
        if settings.run_retention_days > 0:
            self._jobs.append(_Job("the clean-up of old runs", lambda: purge(settings),
                                   settings.retention_interval_seconds, now + settings.retention_interval_seconds))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the loop (the sweep runs at once)."""
        self._thread = threading.Thread(target=self._loop, name="toolpress-maintenance", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for job in self._jobs:
                if now >= job.due:
                    job.due = now + job.every
                    try:
                        job.run()
                    except Exception:
                        logger.exception("%s failed; trying again next interval", job.what)
            self._stop.wait(max(0.0, min(job.due for job in self._jobs) - time.monotonic()))

    def stop(self) -> None:
        """Stop the loop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
