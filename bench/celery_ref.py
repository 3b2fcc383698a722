"""Reference: a raw Celery round trip through Redis (noop task, Redis result backend).

The worker is started by bench/run.py as `celery -A celery_ref worker --pool solo` with bench/ on PYTHONPATH;
BENCH_CELERY_BROKER and BENCH_CELERY_QUEUE select the Redis database and queue.
"""

from __future__ import annotations

import os

from celery import Celery

app = Celery("bench_ref", broker=os.environ["BENCH_CELERY_BROKER"], backend=os.environ["BENCH_CELERY_BROKER"])
app.conf.task_default_queue = os.environ["BENCH_CELERY_QUEUE"]
app.conf.worker_hijack_root_logger = False


@app.task(name="bench.noop")
def noop(x: str) -> str:
    return x
