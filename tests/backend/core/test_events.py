"""The progress bus: events published from any thread reach the subscriber's loop, queued or by callback."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import anyio
import pytest

from backend.core.events import LocalEventBus, RedisEventBus

REDIS_URL = "redis://127.0.0.1:6379/0"


def _bus(kind: str) -> LocalEventBus | RedisEventBus:
    return LocalEventBus() if kind == "local" else RedisEventBus(REDIS_URL)


def _publish_from_a_thread(bus: LocalEventBus | RedisEventBus, run_id: str, *events: dict[str, Any]) -> None:
    thread = threading.Thread(target=lambda: [bus.publish(run_id, event) for event in events])
    thread.start()
    thread.join()


@pytest.mark.parametrize("kind", ["local", "redis"])
def test_a_wait_that_times_out_loses_nothing_published_after_it(kind: str) -> None:
    async def main() -> None:
        bus, run_id = _bus(kind), f"r-{uuid.uuid4().hex}"
        async with bus.subscribe(run_id) as events:
            assert await events.get(timeout=0.05) is None
            _publish_from_a_thread(bus, run_id, {"type": "progress", "done": 1}, {"type": "end"})
            got = [await events.get(timeout=10), await events.get(timeout=10)]
        assert got == [{"type": "progress", "done": 1}, {"type": "end"}]

    anyio.run(main)


@pytest.mark.parametrize("kind", ["local", "redis"])
def test_a_callback_subscription_gets_each_event_on_its_own_loop_in_order(kind: str) -> None:
    async def main() -> None:
        bus, run_id = _bus(kind), f"r-{uuid.uuid4().hex}"
        loop_thread = threading.get_ident()
        seen: list[tuple[dict[str, Any], bool]] = []
        done = anyio.Event()

        def on_event(event: dict[str, Any]) -> None:
            seen.append((event, threading.get_ident() == loop_thread))
            if event["type"] == "end":
                done.set()

        async with bus.subscribe(run_id, on_event) as events:
            _publish_from_a_thread(bus, run_id, {"type": "cancel"}, {"type": "end"})
            with anyio.fail_after(10):
                await done.wait()
            assert await events.get(timeout=0) is None  # handed to the callback, not queued
        assert seen == [({"type": "cancel"}, True), ({"type": "end"}, True)]

    anyio.run(main)


def test_events_published_after_the_subscription_closed_go_nowhere() -> None:
    async def main() -> None:
        bus, run_id = LocalEventBus(), f"r-{uuid.uuid4().hex}"
        async with bus.subscribe(run_id) as events:
            pass
        bus.publish(run_id, {"type": "end"})
        assert await events.get(timeout=0) is None

    anyio.run(main)


def test_a_waiting_reader_gets_every_event_in_order_and_a_second_reader_is_refused() -> None:
    async def main() -> None:
        bus, run_id = LocalEventBus(), f"r-{uuid.uuid4().hex}"
        sent = [{"type": "progress", "done": i} for i in range(50)]
        async with bus.subscribe(run_id) as events:
            got: list[dict[str, Any] | None] = []
            async with anyio.create_task_group() as tg:
                async def read() -> None:
                    for _ in sent:
                        got.append(await events.get())

                tg.start_soon(read)
                await anyio.wait_all_tasks_blocked()  # the reader waits on an empty subscription
                with pytest.raises(RuntimeError, match="one reader"):
                    await events.get(timeout=1)
                _publish_from_a_thread(bus, run_id, *sent)
            assert got == sent
            assert await events.get(timeout=0) is None

    anyio.run(main)
