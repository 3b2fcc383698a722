"""A real Celery worker in threads of the API process, for the embedded (no services) mode.

Its threads only do the bookkeeping of runs (claim, progress, record the end); each run executes in a
sandbox process of their own (backend.sandbox), so the API process never runs a step. It has a name of
its own (`embedded-<pid>@<host>`), a heartbeat row like any worker, and the maintenance loop in place of
beat (which sweeps at start for runs a previous server process left behind).
"""

from __future__ import annotations

import logging
import threading

from celery import Celery
from celery.apps.worker import Worker

from backend.core.settings import get_settings
from backend.services.execution import sandbox_pool
from backend.services.workers import WorkerIdentity, set_this_worker
from backend.worker.heartbeat import Heartbeat
from backend.worker.maintenance import MaintenanceLoop

logger = logging.getLogger(__name__)


class EmbeddedWorker:
    """Start and stop a Celery WorkController with a thread pool inside this process, and its sandbox processes."""

    def __init__(self, app: Celery, concurrency: int = 4) -> None:
        self.app = app
        self.concurrency = concurrency
        self.identity = WorkerIdentity.of_this_process("embedded", concurrency)
        self._worker: Worker | None = None
        self._thread: threading.Thread | None = None
        self._heartbeat: Heartbeat | None = None
        self._maintenance: MaintenanceLoop | None = None

    def start(self) -> None:
        """Start the sandbox processes and consuming in a daemon thread; wait until the worker is ready."""
        settings = get_settings()
        sandbox_pool(settings).start(warm=self.concurrency)  # the runs execute there, not in this process
        ready = threading.Event()
        self._worker = self.app.WorkController(
            pool_cls="threads",
            concurrency=self.concurrency,
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            hostname=self.identity.name,
            loglevel="WARNING",
            ready_callback=lambda _consumer: ready.set(),
        )
        self._thread = threading.Thread(target=self._worker.start, name="toolpress-worker", daemon=True)
        self._thread.start()
        if not ready.wait(timeout=30):
            raise RuntimeError("the embedded worker did not become ready within 30 s")
        # with the in-memory broker, runs queued by this process wait in its memory, for this worker only
        set_this_worker(self.identity.name, holds_queue=settings.is_embedded_broker)
        self._heartbeat = Heartbeat(settings, self.identity)
        self._heartbeat.start()
        logger.info("embedded worker %s ready (%d sandbox processes)", self.identity.name, self.concurrency)
        self._maintenance = MaintenanceLoop(settings)  # the embedded stand-in for beat
        self._maintenance.start()

    def stop(self) -> None:
        """Stop the worker, letting running tasks finish."""
        if self._maintenance is not None:
            self._maintenance.stop()
        if self._worker is not None:
            self._worker.stop(in_sighandler=False)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._heartbeat is not None:
            self._heartbeat.stop()
        set_this_worker(None)
        sandbox_pool(get_settings()).close()
