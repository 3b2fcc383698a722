"""A Celery task delivered twice (same task id) runs the workflow once: the second delivery finds the run not queued."""

from __future__ import annotations

import json
import time
from pathlib import Path

import redis

from backend.core.queue import RUN_APP_TASK, get_celery
from support.stack import REDIS_URL, stop_stack, wait_until

from .conftest import start_on_broker


def test_the_same_task_delivered_twice_executes_the_run_once(tmp_path: Path) -> None:
    from backend import crud
    from backend.core.db import session_scope
    from backend.models import App
    from backend.services.runs import new_run

    stack = start_on_broker(tmp_path, REDIS_URL)
    try:
        app_id = int(stack.publish_and_enable("three_steps.yaml")[0])
        db = stack.env["TOOLPRESS_DATABASE_URL"]
        with session_scope(db) as session:
            app = session.get(App, app_id)
            version = crud.list_versions(session=session, app_id=app_id)[0]
            run = crud.create_run(session=session, run=new_run(app=app, version=version, source="api",
                                                               inputs={"text": "once only", "label": "x", "repeat": 1}))
        pubsub = redis.Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(f"toolpress:run:{run.id}")
        celery = get_celery(stack.env["TOOLPRESS_BROKER_URL"], stack.env["TOOLPRESS_QUEUE"])
        for _ in range(2):  # what an acks_late redelivery looks like to the worker
            celery.send_task(RUN_APP_TASK, args=[run.id], task_id=run.task_id)

        pattern = f"Task {RUN_APP_TASK}[{run.task_id}] succeeded"
        wait_until(lambda: stack.logs().count(pattern) == 2, 30, "both deliveries to be processed")
        events = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.2)
            if message:
                events.append(json.loads(message["data"]))
        pubsub.close()
        # one execution: each step once and in order, then one end (which carries the last step: sandbox.progress)
        assert [e["type"] for e in events] == ["progress", "progress", "end"], events
        assert [e["done"] for e in events[:2]] + [events[2]["progress"]["done"]] == [1, 2, 3]
        with session_scope(db) as session:
            final = crud.get_run(session=session, run_id=run.id)
        assert final.status == "succeeded" and final.result["words"] == 2
        assert final.started_at is not None and final.ended_at >= final.started_at
        assert len(final.trace or []) == 3
    finally:
        stop_stack(stack)
