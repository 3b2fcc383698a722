"""A worker's heartbeat: its row in the database, refreshed while it lives, deleted when it stops."""

from __future__ import annotations

import logging
import threading

from backend.core.db import UNAVAILABLE_ERRORS
from backend.core.settings import Settings
from backend.services.workers import WorkerIdentity, record_heartbeat, remove_worker

logger = logging.getLogger(__name__)


class Heartbeat:
    """Writes this worker's heartbeat every `worker_heartbeat_seconds` from a daemon thread."""

    def __init__(self, settings: Settings, identity: WorkerIdentity) -> None:
        self.settings, self.identity = settings, identity
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self) -> None:
        """Write the first heartbeat now (readiness sees the worker at once), then keep writing."""
        self._beat()
        self._thread = threading.Thread(target=self._loop, name="toolpress-heartbeat", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.worker_heartbeat_seconds):
            self._beat()

    def _beat(self) -> None:
        try:
            record_heartbeat(self.settings, self.identity)
        except UNAVAILABLE_ERRORS as exc:  # the database is restarting: the next beat tries again
            if not self._failing:
                logger.warning("worker %s: heartbeat not recorded (%s)", self.identity.name, type(exc).__name__)
            self._failing = True
            return
        if self._failing:
            logger.info("worker %s: heartbeat recorded again", self.identity.name)
        self._failing = False

    def stop(self) -> None:
        """Stop writing and delete the row (the worker is leaving)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            remove_worker(self.settings, self.identity)
        except UNAVAILABLE_ERRORS:
            logger.warning("worker %s: could not remove its heartbeat row; it expires on its own", self.identity.name)
