"""The periodic clean-up of old runs: a Celery beat task in production, a timer thread in embedded mode."""

from __future__ import annotations

import logging
import threading

from backend.core.db import session_scope
from backend.core.settings import Settings
from backend.services.usage import purge_old_runs

logger = logging.getLogger(__name__)

PURGE_RUNS_TASK = "toolpress.purge_runs"


def purge(settings: Settings) -> int:
    """Delete runs past the retention period once; return how many went."""
    with session_scope(settings.sqlalchemy_url) as session:
        deleted = purge_old_runs(session=session, settings=settings)
    if deleted:
        logger.info("retention: deleted %d runs older than %g days", deleted, settings.run_retention_days)
    return deleted


class RetentionLoop:
    """Runs `purge` every `retention_interval_seconds` in a daemon thread (the embedded worker's beat)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the loop (a no-op when retention is off)."""
        if self._settings.run_retention_days <= 0:
            return
        self._thread = threading.Thread(target=self._loop, name="toolpress-retention", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._settings.retention_interval_seconds):
            try:
                purge(self._settings)
            except Exception:
                logger.exception("retention: the clean-up of old runs failed; trying again next interval")

    def stop(self) -> None:
        """Stop the loop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
