"""The Redis broker transport, made to survive the loss of its connection.

When the connection to Redis drops, Celery's consumer first *collects* the broken kombu connection
(which detaches its transport from the connection's parameters: ``transport.client = None``) and then
*closes* it. Closing a Redis channel restores the messages it holds unacknowledged, which needs a
Redis client, built from ``transport.client`` — now None. kombu raised
``AttributeError: 'NoneType' object has no attribute 'hostname'``, which is not a connection error, so
Celery treated it as unrecoverable and the worker exited. The same happened to the late acknowledgement
of a task that was running during the outage: it is sent on the old channel.

Here each channel keeps the connection parameters it was opened with and builds its clients from them
when its transport has been collected. Work on the old channel after a connection loss then either
reaches Redis (the restore or the ack succeeds) or raises a Redis connection error, which Celery
ignores as it should; either way the worker reconnects and goes on. A message whose restore or ack
could not reach Redis stays in Redis's unacknowledged set and is delivered again after the visibility
timeout; a run that is delivered twice runs once (the worker only starts a run that is still queued).
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    """A Redis channel that can still make clients after Celery collected its connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._opened_with = self.connection.client  # the kombu Connection: host, port, password, TLS

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        transport = self.connection
        if transport.client is not None:
            return super()._connparams(asynchronous)
        transport.client = self._opened_with  # lent for this one call; the transport stays collected
        try:
            return super()._connparams(asynchronous)
        finally:
            transport.client = None


class Transport(redis.Transport):
    """kombu's Redis transport with channels that outlive a lost connection (used for redis:// brokers)."""

    Channel = Channel
