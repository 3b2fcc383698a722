"""`toolpress worker`: a Celery worker with a name, a heartbeat, warm sandbox processes and (with --beat) the sweeps."""

from __future__ import annotations

import argparse
import logging

from backend.core.settings import Settings

__all__ = ["cmd_worker"]

logger = logging.getLogger("toolpress")


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """A Celery worker under a name of its own, with a heartbeat row while it lives (see services.workers)."""
    from celery.signals import worker_ready

    from backend.core.collector import settle_after_startup
    from backend.services.execution import sandbox_pool
    from backend.services.lost_runs import sweep_lost_runs
    from backend.services.workers import WorkerIdentity, set_this_worker
    from backend.worker.heartbeat import Heartbeat
    from backend.worker.tasks import celery_app

    settings.worker_concurrency = args.concurrency or settings.worker_concurrency
    identity = WorkerIdentity.of_this_process("celery", settings.worker_concurrency, name=args.name)
    set_this_worker(identity.name)  # recorded on every run it starts (prefork processes inherit it)
    argv = ["worker", "--without-gossip", "--without-mingle", "--without-heartbeat", f"--loglevel={settings.log_level}"]
    argv += [f"--concurrency={settings.worker_concurrency}", f"--pool={args.pool}", f"--hostname={identity.name}"]
    if args.beat:  # periodic tasks (the clean-up of old runs, the lost-run sweep); run it in exactly one worker
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--beat", f"--schedule={settings.data_dir / 'celerybeat-schedule'}"]

        @worker_ready.connect(weak=False)
        def _sweep_now(**_: object) -> None:  # runs left behind by a worker that died before this one started
            try:
                sweep_lost_runs(settings)
            except Exception:  # noqa: BLE001 - beat sweeps again within the interval
                logger.exception("the start-up sweep for runs that lost their worker failed")

    worker_ready.connect(lambda **_: settle_after_startup(), weak=False)

    if args.pool != "prefork":  # a prefork pool's processes each start sandbox processes of their own, when needed
        sandbox_pool(settings).start(warm=settings.worker_concurrency)
    heartbeat = Heartbeat(settings, identity)
    heartbeat.start()
    try:
        celery_app.worker_main(argv)
    finally:
        heartbeat.stop()
        sandbox_pool(settings).close()
    return 0
