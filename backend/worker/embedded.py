"""A real Celery worker in threads of the API process, for the embedded (no services) mode.

Its threads only do the bookkeeping of runs (claim, progress, record the end); each run executes in a
sandbox process of their own (backend.sandbox), so the API process never runs a step.
"""

from __future__ import annotations

import logging
import threading

from celery import Celery
from celery.apps.worker import Worker

from backend.core.settings import get_settings
from backend.services.execution import sandbox_pool
from backend.worker.retention import RetentionLoop

logger = logging.getLogger(__name__)


class EmbeddedWorker:
    """Start and stop a Celery WorkController with a thread pool inside this process, and its sandbox processes."""

    def __init__(self, app: Celery, concurrency: int = 4) -> None:
        self.app = app
        self.concurrency = concurrency
        self._worker: Worker | None = None
        self._thread: threading.Thread | None = None
        self._retention: RetentionLoop | None = None

    def start(self) -> None:
        """Start the sandbox processes and consuming in a daemon thread; wait until the worker is ready."""
        sandbox_pool(get_settings()).start(warm=self.concurrency)  # the runs execute there, not in this process
        ready = threading.Event()
        self._worker = self.app.WorkController(
            pool_cls="threads",
            concurrency=self.concurrency,
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            hostname="embedded@toolpress",
            loglevel="WARNING",
            ready_callback=lambda _consumer: ready.set(),
        )
        self._thread = threading.Thread(target=self._worker.start, name="toolpress-worker", daemon=True)
        self._thread.start()
        if not ready.wait(timeout=30):
            raise RuntimeError("the embedded worker did not become ready within 30 s")
        logger.info("embedded worker ready (%d threads)", self.concurrency)
        self._retention = RetentionLoop(get_settings())  # the embedded stand-in for beat
        self._retention.start()

    def stop(self) -> None:
        """Stop the worker, letting running tasks finish."""
        if self._retention is not None:
            self._retention.stop()
        if self._worker is not None:
            self._worker.stop(in_sighandler=False)
        if self._thread is not None:
            self._thread.join(timeout=10)
        sandbox_pool(get_settings()).close()
