"""The Celery application shared by the API (which sends tasks by name) and the worker (which runs them)."""

from __future__ import annotations

import ssl
from functools import lru_cache

from celery import Celery

RUN_APP_TASK = "toolpress.run_app"


def _transport(broker_url: str) -> str | None:
    """Our transports: the embedded broker woken by each message (kombu's in-memory one polls), and Redis
    channels that survive a lost connection (see backend.core.redis_broker); others are kombu's own."""
    if broker_url.startswith("memory://"):
        return "backend.core.memory_broker:Transport"
    if broker_url.startswith(("redis://", "rediss://")):
        return "backend.core.redis_broker:Transport"
    return None


@lru_cache(maxsize=4)
def get_celery(broker_url: str, queue: str = "toolpress") -> Celery:
    """One Celery app per broker URL per process, tuned for low latency."""
    app = Celery("toolpress", broker=broker_url)
    app.conf.update(
        broker_transport=_transport(broker_url),
        # rediss:// named by class loses kombu's scheme-based TLS default; verify certificates
        broker_use_ssl={"ssl_cert_reqs": ssl.CERT_REQUIRED} if broker_url.startswith("rediss://") else None,
        task_default_queue=queue,
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=False,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        task_publish_retry=True,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.4, "interval_max": 1},
        # a task running while the broker connection drops goes on and is acknowledged once reconnected
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        enable_utc=True,
    )
    return app


def send_run(broker_url: str, queue: str, run_id: str, task_id: str) -> None:
    """Send the task that runs `run_id`; raises what the broker raised once the publish retries are spent.

    The message is Celery's own (`create_task_message`, protocol 2) and goes out through Celery's
    `send_task_message` on a producer of the app's pool, with the app's publish retry policy: what
    `send_task` does for a task with no options, without its per-send work for features a run's task never
    uses (routing, a parent task, a result object, per-task option lookups).

    On our own transports (memory, Redis) the message goes onto the queue by name without declaring the
    queue again on every send: a put there lands in the queue whether or not a consumer declared it. AMQP
    brokers drop a message for a queue that does not exist, so there Celery declares it (once per
    connection). The log form of the arguments is given, instead of Celery's safe repr of them.
    """
    app = get_celery(broker_url, queue)
    message = app.amqp.create_task_message(task_id, RUN_APP_TASK, [run_id], {}, argsrepr=repr([run_id]), kwargsrepr="{}")
    declare = [] if _transport(broker_url) else None
    with app.producer_or_acquire() as producer, producer.connection._reraise_as_library_errors():
        app.amqp.send_task_message(producer, RUN_APP_TASK, message, declare=declare)


def active_tasks(app: Celery, task_ids: list[str], timeout: float = 2.0) -> set[str]:
    """Which of `task_ids` some live worker reports as active or reserved (one remote-control broadcast).

    The raw reply list is used, not `inspect()`, whose dict keyed by node name drops all but one reply
    when several workers share a name (default names on one host).
    """
    replies = app.control.broadcast("query_task", arguments={"ids": task_ids}, reply=True, timeout=timeout) or []
    return {
        task_id
        for reply in replies
        if isinstance(reply, dict)
        for tasks in reply.values()
        if isinstance(tasks, dict)
        for task_id in tasks
    } & set(task_ids)


def task_is_active(app: Celery, task_id: str, timeout: float = 2.0) -> bool:
    """Whether any live worker reports `task_id` as active or reserved."""
    return task_id in active_tasks(app, [task_id], timeout)
