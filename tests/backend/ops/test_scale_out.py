"""Scale-out on loopback: two API processes and two Celery workers on PostgreSQL + Redis, no sticky routing.

Stated outcome: 200 concurrent calls spread over both API processes (as a round-robin balancer would)
all complete with their own correct result and their own progress, in order; a URL regenerated
through one API process answers 404 on the other at its very next request, and the new URL works there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from support.apps import published_app
from support.stack import Stack, start_production, stop_stack

pytestmark = pytest.mark.anyio

CALLS = 200
SPEC = (Path(__file__).parents[2] / "fixtures" / "three_steps.yaml").read_text()


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, list[str]]]:
    stack = start_production(tmp_path_factory.mktemp("scale-out"), api_processes=2, workers=2)
    try:
        ports = [m.group(1) for p in stack.log_files if (m := re.fullmatch(r"api-(\d+)\.log", p.name))]
        assert len(ports) == 2 and len(set(ports)) == 2
        yield stack, [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        stop_stack(stack)


def _on(base: str, url: str) -> str:
    """The same MCP URL served by the API process at `base`."""
    return base + url[url.index("/mcp/"):]


@pytest.mark.timeout(900)
async def test_200_concurrent_calls_over_two_api_processes_and_two_workers(scaled: tuple[Stack, list[str]]) -> None:
    stack, bases = scaled
    async with httpx.AsyncClient(base_url=bases[0], timeout=30) as api:
        app_id, url, headers = await published_app(api, SPEC)
        # 200 at once is the point here: lift the endpoint's default limits (10 at a time, so many per minute)
        unlimited = await api.put(f"/api/apps/{app_id}/mcp/limits", json={"calls_per_minute": 0, "max_concurrent_runs": 0},
                                  headers=headers)
        assert unlimited.status_code == 200, unlimited.text
    outcomes: dict[int, tuple[object, list[tuple[float, float | None, str | None]]]] = {}
    # One HTTP connection pool for all the MCP clients (as an agent host would have), without a cap
    # on connections: each call holds its own response stream open.
    http = httpx2.AsyncClient(timeout=httpx2.Timeout(60, read=600), limits=httpx2.Limits(max_connections=None))

    async def call(i: int) -> None:
        words = " ".join(f"w{i}x{k}" for k in range(i % 7 + 1))
        progress: list[tuple[float, float | None, str | None]] = []

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress.append((done, total, message))

        # Every other call on the other process; every fourth in the handshake protocol, whose signed
        # session is issued by one process and honoured by the other on later requests.
        mode = "legacy" if i % 4 == 0 else "2026-07-28"
        async with Client(streamable_http_client(_on(bases[i % 2], url), http_client=http), mode=mode) as client:
            result = await client.call_tool(
                "word_report", {"text": words, "label": f"c{i}"}, progress_callback=on_progress
            )
        outcomes[i] = (result, progress)

    async with http:
        with anyio.fail_after(800):
            async with anyio.create_task_group() as tg:
                for i in range(CALLS):
                    tg.start_soon(call, i)

    assert sorted(outcomes) == list(range(CALLS))
    for i, (result, progress) in outcomes.items():
        words = " ".join(f"w{i}x{k}" for k in range(i % 7 + 1))
        assert result.is_error is False, (i, result.content[0].text)
        assert result.structured_content == {
            "words": i % 7 + 1,
            "report": f"c{i}: {i % 7 + 1} words in '{words}'",
        }, i
        assert [(done, total) for done, total, _ in progress] == [(1, 3), (2, 3), (3, 3)], (i, progress)
        assert [message for *_, message in progress] == ["step 1/3: clean text", "step 2/3: count words", "step 3/3: write report"]

    async with httpx.AsyncClient(timeout=30) as http:
        runs = (await http.get(f"{bases[1]}/api/runs", params={"app_id": app_id, "limit": 500}, headers=headers)).json()
    assert runs["count"] == CALLS
    assert {run["status"] for run in runs["data"]} == {"succeeded"}


async def test_a_regenerate_on_one_api_process_is_honoured_by_the_other_at_its_next_request(
    scaled: tuple[Stack, list[str]],
) -> None:
    stack, (first, second) = scaled
    async with httpx.AsyncClient(base_url=first, timeout=30) as api:
        app_id, old_url, headers = await published_app(api, SPEC)
    async with httpx.AsyncClient(timeout=30) as http:
        async with Client(_on(second, old_url), mode="2026-07-28") as client:  # the other process serves it…
            assert (await client.call_tool("word_report", {"text": "before"})).is_error is False

        new_url = (await http.post(f"{first}/api/apps/{app_id}/mcp/regenerate", headers=headers)).json()["url"]
        assert new_url != old_url
        initialize = {
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
        }
        accept = {"Accept": "application/json, text/event-stream"}
        stale = await http.post(_on(second, old_url), json=initialize, headers=accept)  # …and stops at once
        assert stale.status_code == 404
        fresh = await http.post(_on(second, new_url), json=initialize, headers=accept)
        assert fresh.status_code == 200

        async with Client(_on(second, new_url), mode="legacy") as client:
            result = await client.call_tool("word_report", {"text": "after the regenerate"})
        assert result.is_error is False and result.structured_content["words"] == 3
