"""The store of call stream events, in memory and in a real Redis: order, follow to the end, expiry."""

from __future__ import annotations

import time

import anyio
import pytest
from support.stack import REDIS_URL

from backend.mcp.event_store import MemoryCallEventStore, RedisCallEventStore, parse_event_id

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A factory of stores with a given ttl (seconds), of each kind."""
    if request.param == "memory":
        return MemoryCallEventStore
    return lambda ttl: RedisCallEventStore(REDIS_URL, ttl)


async def _all(store, token: str, after: str) -> list:  # type: ignore[no-untyped-def]
    with anyio.fail_after(10):
        return [event async for event in store.follow(token, after, 0.05) if event is not None]


async def test_follow_gives_the_events_after_an_id_then_ends_with_the_stream(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store(60)
    token, priming = await store.open("owner-a", "7", 60)
    first = await store.append(token, '{"n":1}')
    await store.append(token, '{"n":2}')

    async def finish_later() -> None:
        await store.append(token, '{"n":3}')
        await store.finish(token, 60)

    async with anyio.create_task_group() as tg:
        tg.start_soon(finish_later)
        events = await _all(store, token, parse_event_id(first)[1])
    assert [e.data for e in events] == ['{"n":2}', '{"n":3}']
    assert [e.data for e in await _all(store, token, parse_event_id(priming)[1])] == ['{"n":1}', '{"n":2}', '{"n":3}']
    assert await store.owner(token) == "owner-a"
    assert await store.owner("x" * 22) is None


async def test_a_finished_stream_expires_after_its_grace_period(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store(60)
    token, _ = await store.open("owner-b", "7", 60)
    await store.append(token, '{"n":1}')
    await store.finish(token, 0.2)
    deadline = time.monotonic() + 10
    while await store.owner(token) is not None and time.monotonic() < deadline:
        await anyio.sleep(0.05)
    assert await store.owner(token) is None
    assert await _all(store, token, "0-0") == []


async def test_a_stream_whose_call_goes_silent_expires_after_its_ttl(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store(0.2)
    token, _ = await store.open("owner-c", "7", 0)
    await store.append(token, '{"n":1}')
    deadline = time.monotonic() + 10
    while await store.owner(token) is not None and time.monotonic() < deadline:
        await anyio.sleep(0.05)
    assert await store.owner(token) is None


def test_only_ids_of_this_server_s_shape_are_parsed() -> None:
    assert parse_event_id("abcdefghijklmnopqrstuv.12-0") == ("abcdefghijklmnopqrstuv", "12-0")
    for bad in ("42", "", "short.1-0", "abcdefghijklmnopqrstuv.x", "abcdefghijklmnopqrstuv.1-0;drop"):
        assert parse_event_id(bad) is None


async def test_a_stream_remembers_its_request_and_who_is_alive_on_it(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store(60)
    token, _ = await store.open("owner-d", '"req-1"', 0.1)
    assert await store.request_id(token) == '"req-1"'
    assert await store.marked(token, "writer") and not await store.marked(token, "reader")  # open marks the writer
    deadline = time.monotonic() + 10
    while await store.marked(token, "writer") and time.monotonic() < deadline:
        await anyio.sleep(0.05)
    assert not await store.marked(token, "writer")
    await store.mark(token, "writer", 60)
    assert await store.marked(token, "writer") and not await store.marked(token, "reader")
    await store.mark(token, "reader", 0.1)
    deadline = time.monotonic() + 10
    while await store.marked(token, "reader") and time.monotonic() < deadline:
        await anyio.sleep(0.05)
    assert not await store.marked(token, "reader") and await store.marked(token, "writer")


async def test_an_event_appended_as_the_last_ends_the_stream_and_starts_its_grace_period(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store(60)
    token, priming = await store.open("owner-e", "7", 60)
    await store.append(token, '{"n":1}')
    last = await store.append(token, '{"n":2}', last_grace=0.2)
    assert parse_event_id(last) is not None
    # follow ends at the stream's end, not at the ttl: nothing more is waited for
    assert [e.data for e in await _all(store, token, parse_event_id(priming)[1])] == ['{"n":1}', '{"n":2}']
    deadline = time.monotonic() + 10
    while await store.owner(token) is not None and time.monotonic() < deadline:
        await anyio.sleep(0.05)
    assert await store.owner(token) is None  # expired after the grace period, not the 60 s ttl


async def test_a_redis_that_forgot_the_store_s_scripts_still_takes_a_stream(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A restarted Redis has no scripts cached: the store loads them again instead of failing the call."""
    import redis.asyncio as aioredis

    store = RedisCallEventStore(REDIS_URL, 60)
    token, priming = await store.open("owner-f", "9", 60)
    client = aioredis.Redis.from_url(REDIS_URL)
    await client.script_flush()
    await client.aclose()
    await store.append(token, '{"n":1}', last_grace=60)
    token2, _ = await store.open("owner-f", "10", 0)
    assert [e.data for e in await _all(store, token, parse_event_id(priming)[1])] == ['{"n":1}']
    assert await store.request_id(token2) == "10"
