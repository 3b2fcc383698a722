"""The embedded broker: kombu's in-memory transport, with the worker woken by each message instead of polling.

kombu's memory transport has no way to wait for a message, so its `drain_events` sleeps
`polling_interval` between empty looks. Short intervals cost CPU on an idle server and long ones
cost latency on every call. Here every put sets one event that `drain_events` waits on, and so does
every ack, reject or QoS change (which can let a message waiting behind the prefetch limit go) while a
message waits: an ack with nothing queued (the usual case) wakes no one.
Messages still only pass between threads of one process, as in kombu's own transport.
"""

from __future__ import annotations

import socket
import threading
from queue import Empty
from time import monotonic
from typing import Any

from kombu.transport import memory

# The longest wait without a look at the queues, in case a wake-up path was missed.
MAX_WAIT_SECONDS = 0.5

_arrived = threading.Event()


class Channel(memory.Channel):
    """The memory channel, announcing every change that may let the consumer take a message."""

    def _wake_if_waiting(self) -> None:
        """Wake the consumer if a message is queued: one held back by the prefetch limit may go now.

        A message put after this look sets the event itself, so none is missed.
        """
        if any(queue.qsize() for queue in list(self.queues.values())):
            _arrived.set()

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        super()._put(queue, message, **kwargs)
        _arrived.set()

    def _put_fanout(self, exchange: str, message: Any, routing_key: str | None = None, **kwargs: Any) -> None:
        super()._put_fanout(exchange, message, routing_key, **kwargs)
        _arrived.set()

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        super().basic_ack(delivery_tag, multiple)
        self._wake_if_waiting()

    def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        super().basic_reject(delivery_tag, requeue)
        self._wake_if_waiting()

    def basic_recover(self, requeue: bool = False) -> None:
        super().basic_recover(requeue)
        self._wake_if_waiting()

    def basic_qos(self, *args: Any, **kwargs: Any) -> None:
        super().basic_qos(*args, **kwargs)
        self._wake_if_waiting()


class Transport(memory.Transport):
    """kombu's memory transport with event-driven `drain_events` (selected for `memory://` broker URLs)."""

    Channel = Channel

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:
        started = monotonic()
        while True:
            _arrived.clear()  # cleared before the look: a put after it sets the event again, so none is missed
            try:
                self.cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                left = MAX_WAIT_SECONDS if timeout is None else timeout - (monotonic() - started)
                if left <= 0:
                    raise socket.timeout() from None
                _arrived.wait(min(left, MAX_WAIT_SECONDS))
