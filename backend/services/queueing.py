"""Hand a recorded run to the task queue, or fail it at once when nothing could run it."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from backend import crud
from backend.core.db import session_scope
from backend.core.queue import send_run
from backend.core.settings import Settings
from backend.core.statements import statement_scope
from backend.models import Run, RunStatus, apply_transition
from backend.services.errors import QueueUnavailable
from backend.services.workers import any_worker_alive

logger = logging.getLogger(__name__)

QUEUE_UNAVAILABLE = "the task queue is unavailable; nothing was run, try again shortly"
NO_WORKER = "no worker is available; nothing was run, try again shortly"


def fail_unstarted(*, session: Session, run_id: str, reason: str) -> bool:
    """Mark a run that no worker has started as failed with `reason`; False if it had already left the queue."""
    run = session.exec(select(Run).where(Run.id == run_id).with_for_update()).first()
    if run is None or RunStatus(run.status) is not RunStatus.queued:
        session.rollback()
        return False
    apply_transition(run, RunStatus.failed)
    run.error = reason
    crud.save_run(session=session, run=run)
    return True


def enqueue_run(*, session: Session, settings: Settings, run: Run) -> None:
    """Hand the run to the task queue. With no live worker, or a broker that refuses it, the run is marked
    failed and QueueUnavailable raised (saying which): a call fails in seconds instead of waiting in a queue."""
    reason = _publish(settings, run)
    if reason is not None:
        fail_unstarted(session=session, run_id=run.id, reason=reason)
        raise QueueUnavailable(reason)


def _publish(settings: Settings, run: Run) -> str | None:
    """Send the run's task; the reason nothing was sent, or None."""
    if not any_worker_alive(settings):
        return NO_WORKER
    try:
        send_run(settings.broker_url, settings.queue, run.id, run.task_id)
    except Exception as exc:
        logger.warning("could not queue run %s: %s", run.id, type(exc).__name__)
        return QUEUE_UNAVAILABLE
    return None


def record_and_enqueue(settings: Settings, run: Run) -> None:
    """Record a new run (services.runs.new_run) in one statement, its own transaction, and hand it to the task queue."""
    with statement_scope(settings.sqlalchemy_url) as session:
        crud.create_run(session=session, run=run)
    enqueue(settings, run)


def enqueue(settings: Settings, run: Run) -> None:
    """enqueue_run for callers off the event loop: a database session is opened only to record a failure."""
    reason = _publish(settings, run)
    if reason is not None:
        with session_scope(settings.sqlalchemy_url) as session:
            fail_unstarted(session=session, run_id=run.id, reason=reason)
        raise QueueUnavailable(reason)
