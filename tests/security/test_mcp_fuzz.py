"""The MCP endpoint under hypothesis-generated hostile input, against a live `toolpress serve`.

10,030 requests per run (6,100 + 3,500 + 30 + 400), deterministic (derandomized, no example
database): malformed JSON, wrong JSON-RPC shapes, unknown methods, huge ids, deep nesting, wrong types
for every input of the published app, batches, oversized bodies, and every mix of Content-Type, Accept,
Mcp-Session-Id and MCP-Protocol-Version. The server must never answer 5xx, never log a traceback, and still serve a
normal call afterwards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from security.accounts import fixture_yaml, new_user, publish
from support.stack import Stack

pytestmark = pytest.mark.timeout(900)

TOOL = "word_report"
MAX_BODY = 1024 * 1024  # TOOLPRESS_MAX_REQUEST_BYTES default
VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"]
METHODS = [
    "initialize", "ping", "tools/list", "tools/call", "resources/list", "prompts/list", "tasks/get",
    "tasks/cancel", "logging/setLevel", "completion/complete", "notifications/initialized",
    "notifications/cancelled", "notifications/progress", "sampling/createMessage", "",
]
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
_LOG_PROBLEMS = re.compile(r"Traceback \(most recent call last\)|Exception in ASGI application|\bERROR\b")


@pytest.fixture(scope="module")
def target(secure_stack: Stack, api: httpx.Client) -> Iterator[dict[str, Any]]:
    """The word-report app published by a fresh user, a valid session id for it, and the log offset before fuzzing."""
    _app_id, url = publish(api, new_user(api), fixture_yaml("three_steps.yaml"))
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "1"}}}
    response = api.post(url, json=init, headers={"Accept": "application/json, text/event-stream"})
    assert response.status_code == 200, response.text
    session_id = response.headers["mcp-session-id"]
    yield {"url": url, "session": session_id, "log_offset": len(secure_stack.logs())}


@pytest.fixture(scope="module")
def client(secure_stack: Stack) -> Iterator[httpx.Client]:
    """One keep-alive client for every fuzz case."""
    with httpx.Client(base_url=secure_stack.base_url, timeout=30) as http:
        yield http


# --- strategies (all pure: hypothesis draws, the request is built afterwards) -------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
huge_ids = st.one_of(
    st.integers(min_value=-(2**200), max_value=2**200), st.text(max_size=300), st.just(10**400),
    st.floats(allow_nan=False), st.none(), st.booleans(), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
methods = st.one_of(st.sampled_from(METHODS), st.text(max_size=60))


@st.composite
def rpc_messages(draw: st.DrawFn) -> Any:
    """A JSON-RPC-ish message: right or wrong jsonrpc, id, method and params shapes."""
    message: dict[str, Any] = {}
    if draw(st.booleans()):
        message["jsonrpc"] = draw(st.one_of(st.just("2.0"), st.just("2.0"), json_scalars))
    if draw(st.booleans()):
        message["id"] = draw(huge_ids)
    if draw(st.integers(0, 4)):
        message["method"] = draw(st.one_of(methods, methods, json_scalars))
    if draw(st.booleans()):
        message["params"] = draw(st.one_of(json_values, _meta_params()))
    if draw(st.integers(0, 5)) == 0:
        message[draw(st.sampled_from(["result", "error", "extra"]))] = draw(json_values)
    return message


@st.composite
def _meta_params(draw: st.DrawFn) -> dict[str, Any]:
    meta = {"protocolVersion": draw(st.one_of(st.sampled_from(VERSIONS), st.text(max_size=12))),
            "capabilities": draw(st.one_of(st.just({}), json_values)),
            "clientInfo": draw(st.one_of(st.just({"name": "f", "version": "1"}), json_values))}
    return {"_meta": meta, **draw(st.dictionaries(st.text(max_size=10), json_values, max_size=3))}


def _wrong(kind: str) -> st.SearchStrategy[Any]:
    """Values of every JSON type except `kind`, plus edge values of `kind` itself."""
    others = {
        "string": st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
                            st.lists(st.text(max_size=3), max_size=3), st.just(""), st.text(min_size=2001, max_size=2100)),
        "integer": st.one_of(st.text(max_size=10), st.floats(allow_nan=False), st.booleans(), st.none(),
                             st.integers(min_value=-(2**80), max_value=2**80), st.just(10**400), st.just([1])),
    }
    return others[kind]


@st.composite
def call_arguments(draw: st.DrawFn) -> Any:
    """Arguments for tools/call of the word-report app: each field right, wrong-typed, missing or extra."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)  # not even an object
    arguments: dict[str, Any] = {}
    for name, kind in (("text", "string"), ("label", "string"), ("repeat", "integer")):
        choice = draw(st.integers(0, 3))
        if choice == 1:
            arguments[name] = draw(_wrong(kind))
        elif choice == 2:
            arguments[name] = draw(st.text(min_size=1, max_size=30) if kind == "string" else st.integers(1, 3))
    if draw(st.integers(0, 4)) == 0:
        arguments[draw(st.text(max_size=10))] = draw(json_values)
    return arguments


@st.composite
def tool_calls(draw: st.DrawFn) -> dict[str, Any]:
    """A tools/call request with fuzzed name and arguments."""
    params: dict[str, Any] = {"name": draw(st.one_of(st.just(TOOL), st.just(TOOL), st.text(max_size=20), json_scalars)),
                              "arguments": draw(call_arguments())}
    if draw(st.booleans()):
        params["_meta"] = draw(st.one_of(st.just({"progressToken": draw(huge_ids)}), json_values))
    return {"jsonrpc": "2.0", "id": draw(huge_ids), "method": "tools/call", "params": params}


def _nest(depth: int, leaf: Any, as_list: bool) -> Any:
    for _ in range(depth):
        leaf = [leaf] if as_list else {"a": leaf}
    return leaf


@st.composite
def deep_bodies(draw: st.DrawFn) -> bytes:
    """tools/call whose arguments nest thousands of levels deep, written out as text (json.dumps would recurse)."""
    depth = draw(st.integers(50, 100_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    inner = opener * depth + "1" + closer * depth
    where = draw(st.sampled_from(["arguments", "params", "id", "top"]))
    if where == "top":
        return inner.encode()
    if where == "id":
        return f'{{"jsonrpc":"2.0","id":{inner},"method":"ping"}}'.encode()
    if where == "params":
        return f'{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{inner}}}'.encode()
    return f'{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{TOOL}","arguments":{{"text":{inner}}}}}}}'.encode()


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A request body: one message, a batch, broken JSON or arbitrary bytes."""
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        return json.dumps(draw(st.one_of(rpc_messages(), tool_calls()))).encode()
    if kind == 4:
        return json.dumps(draw(st.lists(st.one_of(rpc_messages(), tool_calls(), json_values), max_size=5))).encode()
    if kind == 5:
        text = json.dumps(draw(rpc_messages()))
        cut = draw(st.integers(0, max(0, len(text) - 1)))
        return (text[:cut] + draw(st.text(max_size=5))).encode("utf-8", "surrogatepass")
    if kind == 6:
        return draw(st.binary(max_size=200))
    if kind == 7:
        return json.dumps(draw(json_values)).encode()
    if kind == 8:
        return draw(deep_bodies())
    return draw(st.text(max_size=100)).encode("utf-8", "surrogatepass")


@st.composite
def headers(draw: st.DrawFn, session_id: str) -> dict[str, str]:
    """Content-Type, Accept, Mcp-Session-Id and MCP-Protocol-Version: valid, wrong, garbage or absent."""
    out: dict[str, str] = {}
    content_type = draw(st.sampled_from([
        "application/json", "application/json", "application/json; charset=utf-8", "text/plain", "",
        "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/jsonx", None,
    ]))
    if content_type is not None:
        out["Content-Type"] = content_type
    accept = draw(st.sampled_from([
        "application/json, text/event-stream", "application/json, text/event-stream", "application/json",
        "text/event-stream", "*/*", "text/html", "", None,
    ]))
    if accept is not None:
        out["Accept"] = accept
    session = draw(st.sampled_from(["valid", "valid", "none", "none", "garbage", "tampered"]))
    if session == "valid":
        out["Mcp-Session-Id"] = session_id
    elif session == "garbage":
        out["Mcp-Session-Id"] = draw(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=80))
    elif session == "tampered":
        out["Mcp-Session-Id"] = session_id[:-2] + ("AA" if not session_id.endswith("AA") else "BB")
    version = draw(st.one_of(st.none(), st.sampled_from(VERSIONS),
                             st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=20)))
    if version is not None:
        out["MCP-Protocol-Version"] = version
    return out


# --- the checks -----------------------------------------------------------------------------------------


def _post(client: httpx.Client, url: str, body: bytes, request_headers: dict[str, str]) -> httpx.Response:
    response = client.post(url, content=body, headers=request_headers)
    assert response.status_code < 500, (response.status_code, body[:300], request_headers, response.text[:500])
    assert "Traceback" not in response.text
    return response


@settings(FUZZ, max_examples=6100)
@given(data=st.data())
def test_json_rpc_messages_never_cause_a_server_error(client: httpx.Client, target: dict[str, Any], data: st.DataObject) -> None:
    body = data.draw(bodies(), label="body")
    request_headers = data.draw(headers(target["session"]), label="headers")
    _post(client, target["url"], body, request_headers)


@settings(FUZZ, max_examples=3500)
@given(call=tool_calls(), version=st.sampled_from([None, "2025-06-18", "2026-07-28"]), with_session=st.booleans())
def test_tool_calls_with_wrong_arguments_never_cause_a_server_error(
    client: httpx.Client, target: dict[str, Any], call: dict[str, Any], version: str | None, with_session: bool
) -> None:
    request_headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if version:
        request_headers["MCP-Protocol-Version"] = version
    if with_session:
        request_headers["Mcp-Session-Id"] = target["session"]
    _post(client, target["url"], json.dumps(call).encode(), request_headers)


@settings(FUZZ, max_examples=30)
@given(extra=st.integers(1, 64 * 1024), chunked=st.booleans(), as_json=st.booleans())
def test_oversized_bodies_get_413(client: httpx.Client, target: dict[str, Any], extra: int, chunked: bool, as_json: bool) -> None:
    size = MAX_BODY + extra
    payload = (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * size + b'"}}') if as_json else b"x" * size
    content: Any = iter([payload[i:i + 65536] for i in range(0, len(payload), 65536)]) if chunked else payload
    response = client.post(target["url"], content=content, headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream"})
    assert response.status_code == 413, (response.status_code, response.text[:300])


@settings(FUZZ, max_examples=400)
@given(method=st.sampled_from(["GET", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD"]), data=st.data())
def test_other_http_methods_never_cause_a_server_error(
    client: httpx.Client, target: dict[str, Any], method: str, data: st.DataObject
) -> None:
    request_headers = data.draw(headers(target["session"]), label="headers")
    # A GET with an event-stream Accept opens a long-lived stream: read the status line, then hang up.
    with client.stream(method, target["url"], headers=request_headers) as response:
        assert response.status_code < 500, (method, request_headers, response.status_code)


def test_the_server_logged_no_traceback_and_still_answers_a_normal_call(
    secure_stack: Stack, target: dict[str, Any], client: httpx.Client
) -> None:
    # Runs after the fuzz tests above (same module, file order).
    import anyio

    async def call() -> Any:
        async with Client(target["url"], mode="legacy") as mcp:
            return await mcp.call_tool(TOOL, {"text": "still alive"})

    result = anyio.run(call)
    assert result.is_error is False
    assert result.structured_content["words"] == 2
    fuzz_log = secure_stack.logs()[target["log_offset"]:]
    problems = [line for line in fuzz_log.splitlines() if _LOG_PROBLEMS.search(line)]
    assert problems == [], "\n".join(problems[:40])
