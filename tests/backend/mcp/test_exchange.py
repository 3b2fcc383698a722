"""A handshake session's single request, served as one exchange: the same wire as the SDK's transport gave it."""

from __future__ import annotations

import json

import httpx
import pytest
from support.apps import SLOW_STEPS, ended_run, published_app, slow_spec
from support.stack import Stack
from support.streams import leave_after_the_first_message, open_session, sse_events

from backend.mcp.exchange import single_request
from backend.mcp.sessions import BODY_STATE_KEY

pytestmark = pytest.mark.anyio

LIST = {"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {}}


@pytest.fixture(scope="module")
def url(stack: Stack) -> str:
    return stack.publish_and_enable("three_steps.yaml")[1]


@pytest.mark.parametrize("body, taken", [
    (LIST, True),
    ({"jsonrpc": "2.0", "id": "a", "method": "ping"}, True),  # params may be left out
    ({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}, False),  # the SDK issues the session
    ({"jsonrpc": "2.0", "method": "notifications/initialized"}, False),  # a notification: no id
    ({"jsonrpc": "2.0", "id": 1, "result": {}}, False),  # a response to a question
    ([LIST], False),  # a batch
    ({"jsonrpc": "2.0", "id": True, "method": "ping"}, False),  # a bool is no request id
    ({"jsonrpc": "2.0", "id": None, "method": "ping"}, False),
    ({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": []}, False),
    ({"jsonrpc": "1.0", "id": 1, "method": "ping"}, False),
    ({"jsonrpc": "2.0", "id": 1, "method": "ping", "extra": 1}, False),
    (None, False),  # not JSON, or too large to have been read whole
])
def test_only_one_well_formed_request_is_served_as_an_exchange(body: object, taken: bool) -> None:
    assert (single_request({"state": {BODY_STATE_KEY: body}}) is not None) is taken


async def _events(api: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict) -> list[tuple[str | None, dict | None]]:
    async with api.stream("POST", url, headers=headers, json=body) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        return [(event_id, message) async for event_id, _, message in sse_events(response)]


async def test_a_request_answers_on_a_stream_of_ided_events_as_an_older_session_s_does(url: str) -> None:
    async with httpx.AsyncClient(timeout=30) as api:
        older = await _events(api, url, await open_session(api, url, "2025-06-18"), LIST)
        resumable = await _events(api, url, await open_session(api, url), LIST)
    assert older == [(None, {"jsonrpc": "2.0", "id": 5, "result": older[-1][1]["result"]})]  # no ids: it cannot resume
    assert resumable[0][1] is None and resumable[0][0]  # the priming event
    assert resumable[1:] == [(resumable[1][0], older[-1][1])] and resumable[1][0] != resumable[0][0]


@pytest.mark.parametrize("body, error", [
    ({"jsonrpc": "2.0", "id": 6, "method": "no/such"}, {"code": -32601, "message": "Method not found", "data": "no/such"}),
    ({"jsonrpc": "2.0", "id": "x", "method": "tools/call", "params": {"arguments": {}}},
     {"code": -32602, "message": "Invalid request parameters", "data": ""}),
])
async def test_a_refused_request_gets_the_sdk_s_error_as_the_stream_s_last_event(url: str, body: dict, error: dict) -> None:
    async with httpx.AsyncClient(timeout=30) as api:
        events = await _events(api, url, await open_session(api, url), body)
    assert events[-1] == (events[-1][0], {"jsonrpc": "2.0", "id": body["id"], "error": error})


@pytest.mark.parametrize("change, status", [
    ({"accept": "application/json"}, 406),  # a call's answer is a stream: the client must take one
    ({"content-type": "text/plain"}, 400),
    ({"host": "evil.example"}, 421),  # DNS rebinding
    ({"origin": "http://evil.example"}, 403),
])
async def test_a_request_with_headers_the_sdk_refuses_is_refused_the_same(url: str, change: dict, status: int) -> None:
    async with httpx.AsyncClient(timeout=30) as api:
        headers = {**await open_session(api, url), **change}
        response = await api.post(url, headers=headers, content=json.dumps(LIST))
    assert response.status_code == status, response.text


async def test_an_older_session_s_call_is_cancelled_when_its_client_goes_away(stack: Stack) -> None:
    steps = SLOW_STEPS * 20  # far longer than it takes to notice the client left
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, slow_spec(steps=steps))
        session = await open_session(api, url, "2025-06-18")
        call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "slow", "arguments": {}, "_meta": {"progressToken": "p"}}}
        await leave_after_the_first_message(api, url, session, call)  # the first progress: then gone for good
        run = await ended_run(api, app_id, headers, timeout=60)
    assert run["status"] == "cancelled" and run["progress_done"] < steps, run
