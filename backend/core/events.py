"""The progress bus: workers publish run events, the API process that holds the caller's stream listens.

Embedded mode keeps both ends in one process, so an in-memory bus suffices. In production the worker and
the API are different processes, so events travel over Redis pub/sub, one channel per run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, Protocol

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "toolpress:run:"
# A publish waits at most this long for Redis; after a failure, publishes are skipped (dropped) this long,
# so a run with many steps does not wait out a timeout per step while the bus is away.
PUBLISH_TIMEOUT_SECONDS = 2.0
UNREACHABLE_BACKOFF_SECONDS = 1.0


# The largest event Redis carries whole: every API process receives and decodes every event (one pattern
# subscription each), so a publisher leaves a large optional part out (an "end" event's outcome, read from the row).
MAX_REDIS_EVENT_BYTES = 64 * 1024


class EventBus(Protocol):
    """Publish from anywhere (sync), subscribe from the event loop (async).

    `max_event_bytes`: the largest event (as JSON) worth publishing whole; None when events are never encoded.
    """

    max_event_bytes: int | None

    def publish(self, run_id: str, event: dict[str, Any]) -> None: ...

    def subscribe(self, run_id: str, on_event: Callable[[dict[str, Any]], None] | None = None) -> Any: ...


class _Subscription:
    """Events fed from any thread, queued for one reader on the subscriber's loop, or handed to `on_event` there.

    A plain deque and one future while the reader waits: every waiting call holds one subscription for its run
    and one for its cancellation, and an `asyncio.Queue` (four deques and an event each) was a fair part of
    what a waiting call held.
    """

    __slots__ = ("loop", "_events", "_waiter", "_deliver")

    def __init__(self, on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self._events: deque[dict[str, Any]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._deliver = on_event or self._put

    def push(self, event: dict[str, Any]) -> None:
        self.loop.call_soon_threadsafe(self._deliver, event)

    def _put(self, event: dict[str, Any]) -> None:
        self._events.append(event)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next event, or None after `timeout` seconds (an event that comes later waits for the next get).

        A waiting call spends its life here, one wait per event: `asyncio.timeout` bounds the wait in the
        calling task (`asyncio.wait_for` made a task of its own for each one).
        """
        if not self._events:
            if self._waiter is not None:
                raise RuntimeError("a subscription has one reader at a time")
            self._waiter = self.loop.create_future()
            try:
                async with asyncio.timeout(timeout):
                    await self._waiter
            except TimeoutError:
                if not self._events:
                    return None
            finally:
                self._waiter = None
        return self._events.popleft()


class LocalEventBus:
    """In-process bus for the embedded worker thread: events pass as the objects they are, whatever their size."""

    max_event_bytes: int | None = None

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, set[_Subscription]] = defaultdict(set)

    def publish(self, run_id: str, event: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs.get(run_id, ()))
        for sub in subs:
            sub.push(event)

    @asynccontextmanager
    async def subscribe(self, run_id: str, on_event: Callable[[dict[str, Any]], None] | None = None,
                        ) -> AsyncIterator[_Subscription]:
        """Events published under `run_id` while inside: queued, or handed to `on_event` on this loop."""
        sub = _Subscription(on_event)
        with self._lock:
            self._subs[run_id].add(sub)
        try:
            yield sub
        finally:
            with self._lock:
                self._subs[run_id].discard(sub)
                if not self._subs[run_id]:
                    del self._subs[run_id]


class RedisEventBus:
    """Redis pub/sub bus: each API process holds one pattern subscription and fans events out per run.

    A single `PSUBSCRIBE toolpress:run:*` made before any call starts means no event can be published
    before its listener exists, and no per-call subscribe round trip sits on the hot path.
    """

    max_event_bytes: int | None = MAX_REDIS_EVENT_BYTES

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self._publisher = redis.Redis.from_url(
            url, socket_timeout=PUBLISH_TIMEOUT_SECONDS, socket_connect_timeout=PUBLISH_TIMEOUT_SECONDS
        )
        self._unreachable_until = 0.0
        self._local = LocalEventBus()
        self._reader: asyncio.Task[None] | None = None
        self._started: asyncio.Event | None = None

    def publish(self, run_id: str, event: dict[str, Any]) -> None:
        """Send an event; while Redis is unreachable it is dropped (with one warning per outage), never raised.

        An event is a courtesy to the caller waiting on the run, whose row in the database is the record of
        truth (the API polls it): a bus outage must not fail a run that is otherwise healthy.
        """
        import redis

        if time.monotonic() < self._unreachable_until:
            return
        try:
            self._publisher.publish(CHANNEL_PREFIX + run_id, json.dumps(event))
        except redis.RedisError as exc:
            if not self._unreachable_until:
                logger.warning("progress bus unreachable (%s); events are dropped until it is back", type(exc).__name__)
            self._unreachable_until = time.monotonic() + UNREACHABLE_BACKOFF_SECONDS
            return
        if self._unreachable_until:
            logger.info("progress bus reachable again")
            self._unreachable_until = 0.0

    async def _ensure_reader(self) -> None:
        if self._started is None:
            self._started = asyncio.Event()
            self._reader = asyncio.create_task(self._read_forever())
        await self._started.wait()

    async def _read_forever(self) -> None:
        import redis.asyncio as aioredis

        assert self._started is not None
        lost = False  # one warning per outage, not one per reconnection attempt
        while True:
            client = aioredis.Redis.from_url(self.url)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(CHANNEL_PREFIX + "*")
                self._started.set()
                if lost:
                    logger.info("progress bus connection re-established")
                    lost = False
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is None or message.get("type") != "pmessage":
                        continue
                    channel = message["channel"].decode()
                    try:
                        event = json.loads(message["data"])
                    except ValueError:
                        continue
                    self._local.publish(channel[len(CHANNEL_PREFIX) :], event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not lost:
                    logger.warning("progress bus connection lost (%s); reconnecting", type(exc).__name__)
                    lost = True
                logger.debug("progress bus connection attempt failed", exc_info=True)
                self._started.set()  # callers fall back to polling the database meanwhile
                await asyncio.sleep(0.5)
            finally:
                try:
                    await pubsub.aclose()
                    await client.aclose()
                except Exception:
                    logger.debug("closing the progress bus connection failed", exc_info=True)

    @asynccontextmanager
    async def subscribe(self, run_id: str, on_event: Callable[[dict[str, Any]], None] | None = None,
                        ) -> AsyncIterator[_Subscription]:
        await self._ensure_reader()
        async with self._local.subscribe(run_id, on_event) as sub:
            yield sub


@lru_cache(maxsize=4)
def get_event_bus(url: str) -> LocalEventBus | RedisEventBus:
    """The bus for a URL, one per process."""
    if url.startswith("memory://"):
        return LocalEventBus()
    return RedisEventBus(url)
