"""The MCP endpoint under hypothesis-generated input: no 5xx, no unhandled exception, still serving after."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from support.stack import Stack, start_embedded, stop_stack

EXAMPLES = int(__import__("os").environ.get("TOOLPRESS_FUZZ_EXAMPLES", "10000"))

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False), st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=12,
)
METHODS = ["initialize", "ping", "tools/list", "tools/call", "resources/list", "prompts/get", "server/discover", "nope/x", ""]
TOOL_ARGS = st.fixed_dictionaries(
    {},
    optional={
        "text": st.one_of(st.text(max_size=60), json_values),
        "label": json_values,
        "repeat": st.one_of(st.integers(min_value=-5, max_value=10), json_values),
        "extra": json_values,
    },
)
rpc_messages = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "2.0", "1.0", 2]), "method": st.sampled_from(METHODS)},
    optional={
        "id": st.one_of(st.integers(min_value=-(2**80), max_value=2**80), st.text(max_size=20), st.none(), json_values),
        "params": st.one_of(
            json_values,
            st.fixed_dictionaries({"name": st.sampled_from(["word_report", "x", ""]), "arguments": st.one_of(TOOL_ARGS, json_values)}),
            st.fixed_dictionaries(
                {"protocolVersion": st.sampled_from(["2025-06-18", "2025-11-25", "2024-11-05", "bogus"]), "capabilities": json_values,
                 "clientInfo": json_values}
            ),
        ),
    },
)


def _deep(depth: int) -> dict:
    value: object = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "word_report", "arguments": {"text": value}}}


bodies = st.one_of(
    rpc_messages.map(lambda m: json.dumps(m).encode()),
    st.lists(rpc_messages, min_size=0, max_size=3).map(lambda ms: json.dumps(ms).encode()),  # batches
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    st.integers(min_value=50, max_value=3000).map(lambda d: json.dumps(_deep(d)).encode()),
    st.just(b"{" * 5000),
    st.just(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * 1_100_000 + b'"}}'),
)
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", "", "application/x-www-form-urlencoded", "multipart/form-data"])
accepts = st.sampled_from(["application/json, text/event-stream", "application/json", "text/event-stream", "*/*", "", "text/html"])
versions = st.sampled_from([None, "2025-06-18", "2025-11-25", "2026-07-28", "1999-01-01", "garbage"])
http_methods = st.sampled_from(["POST"] * 8 + ["GET", "DELETE", "PUT", "PATCH", "OPTIONS"])


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    """An embedded Toolpress of its own (its log is checked for unhandled exceptions) and an app URL."""
    stack = start_embedded(tmp_path_factory.mktemp("fuzz"))
    try:
        yield stack, stack.publish_and_enable("three_steps.yaml")[1]
    finally:
        stop_stack(stack)


def test_the_endpoint_never_answers_5xx_to_hostile_input(target: tuple[Stack, str]) -> None:
    stack, url = target
    statuses: dict[int, int] = {}
    with httpx.Client(timeout=30) as http:

        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(method=http_methods, body=bodies, ctype=content_types, accept=accepts, version=versions)
        def probe(method: str, body: bytes, ctype: str, accept: str, version: str | None) -> None:
            headers = {"Content-Type": ctype, "Accept": accept}
            if version:
                headers["MCP-Protocol-Version"] = version
            response = http.request(method, url, content=body if method != "GET" else None, headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert response.status_code < 500, (response.status_code, response.text[:500], body[:300])

        probe()
    assert sum(statuses.values()) >= EXAMPLES
    logs = stack.logs()
    assert "Traceback" not in logs, re.findall(r"(?ms)Traceback.*?\n\S.*?$", logs)[:3]
    assert " 500 " not in logs


@pytest.mark.anyio
async def test_after_the_fuzzing_a_normal_call_still_works(target: tuple[Stack, str]) -> None:
    _stack, url = target
    async with Client(url, mode="legacy") as client:
        result = await client.call_tool("word_report", {"text": "still here"})
    assert result.structured_content == {"words": 2, "report": "report: 2 words in 'still here'"}


@pytest.fixture
def anyio_backend() -> str:
    """asyncio, like the server."""
    return "asyncio"
