"""Resumable call streams: ids on every event, a priming event, and `GET` + `Last-Event-ID` only for their session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import anyio
import httpx
import pytest
import yaml
from mcp import Client
from support.apps import SLOW_STEPS, ended_run, published_app, slow_spec
from support.stack import Stack, running, start_embedded
from support.streams import leave_after_the_first_message, open_session, sse_events

pytestmark = pytest.mark.anyio

_LONG = SLOW_STEPS * 4  # far longer than the 3 s it takes to give up on a stream nobody resumes

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


def _app(tool_name: str, steps: list[dict], value: str) -> str:
    """YAML of a one-output app (a fresh name each time: every test signs up its own user)."""
    return yaml.safe_dump({"name": f"{tool_name} {uuid.uuid4().hex[:6]}", "tool_name": tool_name, "inputs": [],
                           "steps": steps, "outputs": [{"name": "out", "type": "string", "value": value}]})


def _template(step_id: str, text: str) -> dict:
    return {"id": step_id, "type": "template", "template": text}


async def test_every_event_of_a_call_has_an_id_and_the_session_can_replay_it_after_the_end(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
        steps = [{"id": "hello", "type": "log", "message": "starting"}, _template("one", "1"), _template("two", "2")]
        _, url, _ = await published_app(client, _app("slow", steps, "{{ steps.two.text }}"))
        session = await open_session(client, url)
        events = await _call_to_the_end(client, url, session)
        assert events[0][1] is None and events[-1][1] is not None and events[-1][1]["id"] == 3
        assert {m["method"] for _, m in events[1:-1] if m} == {"notifications/message", "notifications/progress"}
        assert len({event_id for event_id, _ in events}) == len(events)

        for last in (0, 2):
            async with client.stream("GET", url, headers={**session, "accept": "text/event-stream",
                                                          "last-event-id": events[last][0]}) as stream:
                assert stream.status_code == 200
                with anyio.fail_after(30):
                    replayed = [(event_id, message) async for event_id, _, message in sse_events(stream)]
            assert replayed == events[last + 1:]  # what followed the named event, ending with the result


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


@pytest.fixture(scope="module")
def polling(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An embedded Toolpress that closes call streams after 1 s, gives up on streams unread for 2 s, and sends a
    keep-alive comment on a stream quiet for 0.3 s."""
    workdir = tmp_path_factory.mktemp("stream-polling")
    with running(start_embedded(workdir, stream_poll_seconds="1", stream_abandon_seconds="2",
                                stream_ping_seconds="0.3")) as started:
        yield started


async def test_the_sdk_client_follows_a_call_through_streams_the_server_closes_and_misses_nothing(polling: Stack) -> None:
    async with httpx.AsyncClient(base_url=polling.base_url, timeout=30) as api:
        wait = {"id": "wait", "type": "code", "code": "import time\n\ndef main():\n    time.sleep(3)\n    return 'b'\n"}
        steps = [_template("before", "a"), wait, _template("after", "c")]
        _, url, _ = await published_app(api, _app("outlasts", steps, "{{ steps.before.text }}{{ steps.wait.result }}"
                                                                     "{{ steps.after.text }}"))
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with Client(url, mode="legacy") as client:  # the 3 s step outlasts at least one 1 s stream
        with anyio.fail_after(120):
            result = await client.call_tool("outlasts", {}, progress_callback=on_progress)
    assert result.structured_content == {"out": "abc"}
    assert progress == [1, 2, 3]


async def test_a_quiet_call_s_stream_carries_keep_alive_comments_until_the_server_closes_it(polling: Stack) -> None:
    async with httpx.AsyncClient(base_url=polling.base_url, timeout=30) as api:
        wait = {"id": "wait", "type": "code", "code": "import time\n\ndef main():\n    time.sleep(2)\n    return 'b'\n"}
        _, url, _ = await published_app(api, _app("quiet", [_template("before", "a"), wait], "{{ steps.wait.result }}"))
        session = await open_session(api, url)
        call = {**CALL, "params": {**CALL["params"], "name": "quiet"}}
        async with api.stream("POST", url, headers=session, json=call) as stream:
            with anyio.fail_after(60):
                lines = [line async for line in stream.aiter_lines()]  # the server closes it after 1 s (polling)
    comments = [line for line in lines if line.startswith(":")]
    assert comments and all(line.startswith(": ping") for line in comments), lines
    assert any('"progress":1' in line for line in lines)  # the first step's progress came before the quiet


async def test_a_dropped_call_that_nobody_resumes_is_cancelled(polling: Stack) -> None:
    async with httpx.AsyncClient(base_url=polling.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, slow_spec(steps=_LONG))
        session = await open_session(api, url)
        await leave_after_the_first_message(api, url, session, CALL)  # the first progress: then gone for good
        run = await ended_run(api, app_id, headers)
    assert run["status"] == "cancelled" and run["progress_done"] < _LONG, run


@pytest.mark.parametrize("request_id", [7, "call-1"])
def test_the_sdk_s_response_to_the_request_is_known_as_the_stream_s_last_event(request_id: int | str) -> None:
    """The response is stored together with the stream's end (one round trip): the prefixes must match what the
    SDK really writes, and nothing else (a notification, a request to the client, another request's response)."""
    import json

    import mcp_types as types

    from backend.mcp.resumable import _response_prefixes

    def sdk(message: types.JSONRPCMessage) -> str:  # as the SDK's transport serialises an SSE event's data
        return message.model_dump_json(by_alias=True, exclude_unset=True)

    prefixes = _response_prefixes(json.dumps(request_id))
    assert sdk(types.JSONRPCResponse(jsonrpc="2.0", id=request_id, result={"content": []})).startswith(prefixes)
    assert sdk(types.JSONRPCError(jsonrpc="2.0", id=request_id,
                                  error=types.ErrorData(code=-32603, message="no"))).startswith(prefixes)
    others = [types.JSONRPCNotification(jsonrpc="2.0", method="notifications/progress", params={"progress": 1}),
              types.JSONRPCRequest(jsonrpc="2.0", id=request_id, method="elicitation/create", params={}),
              types.JSONRPCResponse(jsonrpc="2.0", id=f"{request_id}0", result={})]
    assert not any(sdk(message).startswith(prefixes) for message in others)
    assert _response_prefixes(None) == ()
