"""Runs whose worker is gone: found, then ended (failed as worker lost) or queued again.

Who notices: the API process following a call (a running call that has been quiet for
`worker_lost_after_seconds`), and the sweep, which runs on beat in production and in the maintenance
loop of `toolpress serve` (at start and every `lost_run_sweep_seconds`), for the runs nobody follows.

How a worker is known to be gone: its heartbeat row (services.workers) is stale or names a process that
no longer exists. Runs of a worker with no row at all (one that stopped, or never wrote one) are treated
the same once they are older than `worker_lost_after_seconds`; running runs recorded before workers had
names are checked by asking the workers over Celery remote control.

What happens then: a running run of an app marked idempotent is queued again, once (its task id gets a
`-rerun` suffix); any other running run fails as worker lost. A queued run that waited in the memory of
an embedded server that died is queued again (it never started). A queued run no worker took within
`call_timeout_seconds` fails: nothing was run.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import Session, col, or_, select

from backend import crud
from backend.core.db import session_scope
from backend.core.events import get_event_bus
from backend.core.queue import active_tasks, get_celery, task_is_active
from backend.core.settings import Settings
from backend.models import Run, RunStatus, apply_transition, utcnow
from backend.services.apps import version_spec
from backend.services.errors import QueueUnavailable
from backend.services.queueing import enqueue, fail_unstarted
from backend.services.workers import live_workers, local_queue_owner

logger = logging.getLogger(__name__)

WORKER_LOST = "the worker running this call was lost (killed or crashed) before it finished; nothing was returned"
NEVER_STARTED = "no worker took this call within {seconds:g} s; nothing was run"
RERUN_TASK_SUFFIX = "-rerun"
SWEEP_BATCH = 50


def _may_rerun(session: Session, run: Run) -> bool:
    """A run of an app marked idempotent is re-run once after its worker is lost (a new task id marks the re-run)."""
    if run.task_id not in (None, run.id) or run.version_id is None:
        return False
    version = crud.get_version(session=session, version_id=run.version_id)
    annotations = version_spec(version).annotations if version is not None else None
    return annotations is not None and annotations.idempotent is True


def end_lost_run(settings: Settings, run: Run) -> bool:
    """The run's worker is gone: queue it again (idempotent app, first loss) or fail it as worker lost.

    True if the run ended (failed), False if it goes on (queued again, or it was not running any more).
    """
    with session_scope(settings.sqlalchemy_url) as session:
        fresh = session.exec(select(Run).where(Run.id == run.id).with_for_update()).first()
        if fresh is None or RunStatus(fresh.status) is not RunStatus.running:
            session.rollback()
            return False
        rerun = _may_rerun(session, fresh)
        if rerun:
            apply_transition(fresh, RunStatus.queued)
            fresh.task_id = f"{fresh.id}{RERUN_TASK_SUFFIX}"
            fresh.started_at, fresh.progress_done, fresh.progress_message = None, 0, None
            fresh.worker = local_queue_owner()
        else:
            apply_transition(fresh, RunStatus.failed)
            fresh.error = WORKER_LOST
        fresh = crud.save_run(session=session, run=fresh)
    if rerun:
        logger.warning("run %s: worker lost; the app is idempotent, so the run is queued again", run.id)
        try:
            enqueue(settings, fresh)
            return False
        except QueueUnavailable:
            pass  # enqueue_run recorded the failure
    else:
        logger.warning("run %s: worker lost", run.id)
    get_event_bus(settings.events_backend_url).publish(run.id, {"type": "end", "status": "failed"})
    return True


def mark_worker_lost_if_orphaned(settings: Settings, run: Run) -> bool:
    """If the run's worker is gone (by its heartbeat, or no live worker holds the task, asked twice), end the
    run as lost (see end_lost_run). True if the run ended, False if it goes on."""
    if run.worker is not None:
        alive, _ = live_workers(settings)
        if run.worker not in {worker.name for worker in alive}:
            return end_lost_run(settings, run)
    app = get_celery(settings.broker_url, settings.queue)
    for _ in range(2):
        try:
            if task_is_active(app, run.task_id or run.id):
                return False
        except Exception as exc:  # noqa: BLE001 - the broker is away: nobody can be asked, so nothing is decided
            logger.warning("run %s: cannot ask the workers whether they hold it (%s)", run.id, type(exc).__name__)
            return False
    return end_lost_run(settings, run)


def _requeue(settings: Settings, run: Run) -> None:
    """A queued run whose embedded server died with it in memory: queue it here (it never started)."""
    owner = local_queue_owner()
    with session_scope(settings.sqlalchemy_url) as session:
        fresh = session.exec(select(Run).where(Run.id == run.id).with_for_update()).first()
        if fresh is None or RunStatus(fresh.status) is not RunStatus.queued:
            session.rollback()
            return
        fresh.worker = owner
        fresh = crud.save_run(session=session, run=fresh)
    logger.warning("run %s: its server stopped before it started; queued again", run.id)
    try:
        enqueue(settings, fresh)
    except QueueUnavailable:
        pass  # enqueue_run recorded the failure


def sweep_lost_runs(settings: Settings) -> int:
    """Find the runs whose worker is gone and end them or queue them again; return how many failed as lost.

    At most SWEEP_BATCH runs of each kind per sweep, oldest first. A no-op when detection is off
    (`worker_lost_after_seconds` = 0).
    """
    if settings.worker_lost_after_seconds <= 0:
        return 0
    alive, gone = live_workers(settings)
    live_names, gone_names = {w.name for w in alive}, {w.name for w in gone}
    now = utcnow()
    cutoff = now - timedelta(seconds=settings.worker_lost_after_seconds)
    never_started = now - timedelta(seconds=settings.call_timeout_seconds)
    unfinished = col(Run.status).in_([RunStatus.queued.value, RunStatus.running.value])
    with session_scope(settings.sqlalchemy_url) as session:
        orphans = list(session.exec(
            select(Run).where(
                unfinished, col(Run.worker).is_not(None), col(Run.worker).not_in(live_names),
                or_(col(Run.worker).in_(gone_names), col(Run.created_at) < cutoff),
            ).order_by(col(Run.created_at)).limit(SWEEP_BATCH)
        ))
        unnamed = list(session.exec(
            select(Run).where(Run.status == RunStatus.running.value, col(Run.worker).is_(None),
                              col(Run.started_at) < cutoff).order_by(col(Run.started_at)).limit(SWEEP_BATCH)
        ))
        stale = list(session.exec(
            select(Run.id).where(Run.status == RunStatus.queued.value, col(Run.worker).is_(None),
                                 col(Run.started_at).is_(None),  # not a resumed run (services.questions)
                                 col(Run.created_at) < never_started).limit(SWEEP_BATCH)
        ))
    ended = 0
    for run in orphans:
        if RunStatus(run.status) is RunStatus.running:
            ended += end_lost_run(settings, run)
        elif settings.is_embedded_broker and local_queue_owner() is not None:
            _requeue(settings, run)
    if unnamed:  # one broadcast for the batch; only the runs no worker claims get the (twice-asked) check
        try:
            held = active_tasks(get_celery(settings.broker_url, settings.queue), [r.task_id or r.id for r in unnamed])
        except Exception as exc:  # noqa: BLE001 - the broker is away: ask again at the next sweep
            logger.warning("sweep: cannot ask the workers (%s)", type(exc).__name__)
            held = {r.task_id or r.id for r in unnamed}
        ended += sum(1 for r in unnamed if (r.task_id or r.id) not in held and mark_worker_lost_if_orphaned(settings, r))
    if (never := _fail_never_started(settings, stale)):
        logger.warning("sweep: %d queued run(s) were never taken by a worker", never)
    if len(orphans) < SWEEP_BATCH and gone_names:
        with session_scope(settings.sqlalchemy_url) as session:
            crud.delete_workers(session=session, names=sorted(gone_names))
    if ended:
        logger.warning("sweep: %d run(s) had lost their worker", ended)
    return ended


def _fail_never_started(settings: Settings, run_ids: list[str]) -> int:
    failed = 0
    reason = NEVER_STARTED.format(seconds=settings.call_timeout_seconds)
    for run_id in run_ids:
        with session_scope(settings.sqlalchemy_url) as session:
            if fail_unstarted(session=session, run_id=run_id, reason=reason):
                failed += 1
                get_event_bus(settings.events_backend_url).publish(run_id, {"type": "end", "status": "failed"})
    return failed
