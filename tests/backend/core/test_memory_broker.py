"""The embedded broker's transport: a waiting consumer is woken by a message, not by a poll."""

from __future__ import annotations

import socket
import threading
import uuid

import pytest
from kombu import Connection, Exchange, Queue

from backend.core import memory_broker
from backend.core.queue import get_celery


def _connection() -> Connection:
    return Connection("memory://", transport="backend.core.memory_broker:Transport")


def test_memory_broker_urls_use_the_waking_transport() -> None:
    app = get_celery("memory://", queue=f"t-{uuid.uuid4().hex}")
    with app.connection_for_write() as conn:
        assert isinstance(conn.transport, memory_broker.Transport)


def test_a_consumer_waiting_in_drain_events_gets_a_message_put_from_another_thread() -> None:
    name = f"wake-{uuid.uuid4().hex}"
    queue = Queue(name, Exchange(name), routing_key=name)
    received: list[object] = []
    with _connection() as consumer_conn, _connection() as producer_conn:
        with consumer_conn.Consumer(queue, callbacks=[lambda body, message: (received.append(body), message.ack())]):
            # the put happens while the consumer waits (its wait is far longer than the put's delay)
            timer = threading.Timer(0.2, lambda: producer_conn.Producer().publish(
                {"n": 1}, exchange=queue.exchange, routing_key=name, declare=[queue]))
            timer.start()
            consumer_conn.drain_events(timeout=30)
            timer.join()
    assert received == [{"n": 1}]


def test_drain_events_without_a_message_times_out() -> None:
    name = f"idle-{uuid.uuid4().hex}"
    queue = Queue(name, Exchange(name), routing_key=name)
    with _connection() as conn, conn.Consumer(queue, callbacks=[lambda body, message: message.ack()]):
        with pytest.raises(socket.timeout):
            conn.drain_events(timeout=0.3)


def test_a_message_held_back_by_the_prefetch_limit_goes_once_the_first_is_acked() -> None:
    name = f"qos-{uuid.uuid4().hex}"
    queue = Queue(name, Exchange(name), routing_key=name)
    held: list[object] = []
    with _connection() as conn:
        producer = conn.Producer()
        for n in (1, 2):
            producer.publish({"n": n}, exchange=queue.exchange, routing_key=name, declare=[queue])
        with conn.Consumer(queue, callbacks=[lambda body, message: held.append(message)], prefetch_count=1):
            conn.drain_events(timeout=30)
            assert [m.payload for m in held] == [{"n": 1}]
            # the second message waits behind prefetch=1; once another thread acks the first, the consumer takes it
            timer = threading.Timer(0.2, held[0].ack)
            timer.start()
            conn.drain_events(timeout=30)
            timer.join()
    assert [m.payload for m in held] == [{"n": 1}, {"n": 2}]
