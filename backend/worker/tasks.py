"""Thin Celery tasks: ids in, a service call, nothing else."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery

from backend.core.queue import RUN_APP_TASK, get_celery
from backend.core.settings import get_settings
from backend.services.execution import execute_run
from backend.services.lost_runs import sweep_lost_runs
from backend.services.questions import expire_waiting_runs
from backend.services.workers import this_worker
from backend.worker.retention import PURGE_RUNS_TASK, purge

SWEEP_LOST_RUNS_TASK = "toolpress.sweep_lost_runs"
EXPIRE_WAITING_RUNS_TASK = "toolpress.expire_waiting_runs"

logger = logging.getLogger(__name__)

# We keep tasks running through a broker outage on purpose (worker_cancel_long_running_tasks_on_connection_loss
# is False, see backend.core.queue); Celery warns about that default at every reconnection.
warnings.filterwarnings("ignore", message=r"\s*In Celery 5.1 we introduced an optional breaking change")


@contextmanager
def _logged_failure(what: str, *args: object) -> Iterator[None]:
    """Log a task's failure with its traceback under our logger (then let Celery see it)."""
    try:
        yield
    except Exception:
        logger.exception(what + " failed", *args)
        raise


def register_tasks(app: Celery) -> Celery:
    """Register Toolpress's tasks on a Celery app (idempotent)."""
    if RUN_APP_TASK in app.tasks:
        return app

    @app.task(name=RUN_APP_TASK, ignore_result=True, acks_late=True)
    def run_app(run_id: str) -> None:
        """Execute one run by id (the run records the name of the worker that runs it)."""
        with _logged_failure("run task %s", run_id):
            execute_run(settings=get_settings(), run_id=run_id, worker=this_worker())

    @app.task(name=PURGE_RUNS_TASK, ignore_result=True)
    def purge_runs() -> None:
        """Delete runs past the retention period (scheduled by beat: `toolpress worker --beat`)."""
        with _logged_failure("the clean-up of old runs"):
            purge(get_settings())

    @app.task(name=SWEEP_LOST_RUNS_TASK, ignore_result=True)
    def sweep_runs() -> None:
        """Fail the running runs whose worker is gone and that nobody follows (scheduled by beat)."""
        with _logged_failure("the sweep for runs that lost their worker"):
            sweep_lost_runs(get_settings())

    @app.task(name=EXPIRE_WAITING_RUNS_TASK, ignore_result=True)
    def expire_waiting() -> None:
        """Fail the runs whose question went unanswered past its time (scheduled by beat)."""
        with _logged_failure("the end of runs whose question went unanswered"):
            expire_waiting_runs(get_settings())

    app.conf.beat_schedule = {
        "purge-old-runs": {"task": PURGE_RUNS_TASK, "schedule": get_settings().retention_interval_seconds},
        "sweep-lost-runs": {"task": SWEEP_LOST_RUNS_TASK, "schedule": get_settings().lost_run_sweep_seconds},
        "expire-waiting-runs": {"task": EXPIRE_WAITING_RUNS_TASK, "schedule": get_settings().lost_run_sweep_seconds},
    }
    return app


celery_app = register_tasks(get_celery(get_settings().broker_url, get_settings().queue))
