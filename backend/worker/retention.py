"""The clean-up of old runs (and of resource subscriptions of expired MCP sessions): a Celery beat task in
production, a job of the maintenance loop in embedded mode."""

from __future__ import annotations

import logging

from backend.core.db import session_scope
from backend.core.settings import Settings
from backend.services.subscriptions import forget_expired
from backend.services.usage import purge_old_runs

logger = logging.getLogger(__name__)

PURGE_RUNS_TASK = "toolpress.purge_runs"


def purge(settings: Settings) -> int:
    """Delete runs past the retention period once; return how many went."""
    with session_scope(settings.sqlalchemy_url) as session:
        deleted = purge_old_runs(session=session, settings=settings)
        forget_expired(session=session)
    if deleted:
        logger.info("retention: deleted %d runs older than %g days", deleted, settings.run_retention_days)
    return deleted
