"""Resumable call streams: ids on every event, a priming event, and `GET` + `Last-Event-ID` only for their session."""

from __future__ import annotations

import anyio
import httpx
import pytest
from support.apps import published_app, slow_spec
from support.stack import Stack
from support.streams import open_session, sse_events

pytestmark = pytest.mark.anyio

CALL = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "slow", "arguments": {}, "_meta": {"progressToken": "p"}}}


async def _call_to_the_end(client: httpx.AsyncClient, url: str, session: dict[str, str]) -> list[tuple[str, dict | None]]:
    """Make the call and read its whole stream: (event id, message) per event."""
    events: list[tuple[str, dict | None]] = []
    async with client.stream("POST", url, headers=session, json=CALL) as stream:
        with anyio.fail_after(60):
            async for event_id, _, message in sse_events(stream):
                assert event_id is not None, message  # every event carries an id
                events.append((event_id, message))
    return events


async def _resume(client: httpx.AsyncClient, url: str, headers: dict[str, str], last: str) -> httpx.Response:
    return await client.get(url, headers={**headers, "accept": "text/event-stream", "last-event-id": last})


async def test_every_event_of_a_call_has_an_id_and_the_session_can_replay_it_after_the_end(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
        _, url, _ = await published_app(client, slow_spec(steps=3))
        session = await open_session(client, url)
        events = await _call_to_the_end(client, url, session)
        assert events[0][1] is None and events[-1][1] is not None and events[-1][1]["id"] == 3
        assert len({event_id for event_id, _ in events}) == len(events)

        async with client.stream("GET", url, headers={**session, "accept": "text/event-stream",
                                                      "last-event-id": events[1][0]}) as stream:
            assert stream.status_code == 200
            with anyio.fail_after(30):
                replayed = [(event_id, message) async for event_id, _, message in sse_events(stream)]
    assert replayed == events[2:]  # what followed the named event, then the stream ends with the result


async def test_a_forged_or_foreign_last_event_id_gets_a_clear_refusal_and_nothing_of_the_stream(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
        _, url, _ = await published_app(client, slow_spec(steps=2))
        owner = await open_session(client, url)
        events = await _call_to_the_end(client, url, owner)
        priming = events[0][0]
        other = await open_session(client, url)

        foreign = await _resume(client, url, other, priming)
        assert foreign.status_code == 404 and "not this session" in foreign.text
        assert "structuredContent" not in foreign.text and "progress" not in foreign.text

        token, position = priming.split(".")
        forged = await _resume(client, url, owner, token[:-2] + ("AA" if token[-2:] != "AA" else "BB") + "." + position)
        assert forged.status_code == 404
        malformed = await _resume(client, url, owner, "42")
        assert malformed.status_code == 400 and "Last-Event-ID" in malformed.text
        without_session = await _resume(client, url, {}, priming)
        assert without_session.status_code == 400 and "Mcp-Session-Id" in without_session.text
