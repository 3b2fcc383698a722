"""Sending a run's task: it reaches a worker that starts consuming only afterwards, on every kind of broker."""

from __future__ import annotations

import uuid

import pytest
from kombu import Exchange, Queue

from backend.core.queue import RUN_APP_TASK, get_celery, send_run

BROKERS = ["memory://", "redis://127.0.0.1:6379/0", "amqp://guest:guest@127.0.0.1:5672//"]


@pytest.mark.parametrize("broker_url", BROKERS)
def test_a_run_sent_before_any_consumer_declared_its_queue_is_delivered_to_the_first(broker_url: str) -> None:
    name = f"send-{uuid.uuid4().hex}"
    run_id, task_id = f"run-{uuid.uuid4().hex}", str(uuid.uuid4())
    send_run(broker_url, name, run_id, task_id)
    received: list[tuple[object, dict[str, object]]] = []
    queue = Queue(name, Exchange(name), routing_key=name)
    with get_celery(broker_url, name).connection_for_read() as conn:
        try:
            with conn.Consumer(queue, callbacks=[lambda body, message: (received.append((body, message.headers)),
                                                                        message.ack())]):
                conn.drain_events(timeout=10)
        finally:
            queue.bind(conn.default_channel).delete()
    [(body, headers)] = received
    assert body[0] == [run_id] and body[1] == {}
    assert headers["task"] == RUN_APP_TASK and headers["id"] == task_id
    assert headers["argsrepr"] == repr([run_id]) and headers["kwargsrepr"] == "{}"
