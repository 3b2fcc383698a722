"""The legacy HTTP+SSE transport (2024-11-05) at /mcp/{secret}/sse, with the SDK's sse_client and the Inspector."""

from __future__ import annotations

import json
import os
import subprocess
import time

import anyio
import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from support.apps import SLOW_STEPS, published_app, slow_spec
from support.stack import REPO, Stack

pytestmark = pytest.mark.anyio

STEPS = SLOW_STEPS
NODE_BIN = REPO / "node_modules" / ".bin"


def sse_url(url: str) -> str:
    """The legacy SSE URL of an app whose Streamable HTTP URL is `url` (…/mcp/{secret}/mcp)."""
    return url.removesuffix("/mcp") + "/sse"


@pytest.fixture(scope="module")
def app_url(stack: Stack) -> str:
    return stack.publish_and_enable("three_steps.yaml")[1]


async def test_list_and_call_with_progress_over_legacy_sse(app_url: str) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with sse_client(sse_url(app_url)) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        assert init.protocol_version
        tools = (await session.list_tools()).tools
        assert [t.name for t in tools] == ["word_report"]
        result = await session.call_tool("word_report", {"text": "Hello legacy world"}, progress_callback=on_progress)
    assert result.is_error is False
    assert result.structured_content == {"words": 3, "report": "report: 3 words in 'hello legacy world'"}
    assert progress == [
        (1, 3, "step 1/3: clean text"),
        (2, 3, "step 2/3: count words"),
        (3, 3, "step 3/3: write report"),
    ]


async def test_unknown_url_and_foreign_session_get_404(stack: Stack, app_url: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(stack.base_url + "/mcp/" + "A" * 43 + "/sse")).status_code == 404
        other = sse_url(stack.publish_and_enable("three_steps.yaml")[1])
        # open a session on app_url, then post its messages to the other app's URL
        async with http.stream("GET", sse_url(app_url), headers={"Accept": "text/event-stream"}) as stream:
            assert stream.status_code == 200
            lines = stream.aiter_lines()  # keep the iterator (and so the stream) alive
            endpoint = ""
            while not endpoint:
                line = await lines.__anext__()
                if line.startswith("data:"):
                    endpoint = line[5:].strip()
            assert "/messages?session_id=" in endpoint
            session_id = endpoint.split("session_id=")[1]
            foreign = other.removesuffix("/sse") + f"/messages?session_id={session_id}"
            body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
            assert (await http.post(foreign, json=body)).status_code == 404
            assert (await http.post(stack.base_url + endpoint, json=body)).status_code == 202


async def _wait_cancelled(api: httpx.AsyncClient, app_id: str, headers: dict[str, str]) -> dict:
    deadline = time.monotonic() + 30
    run: dict = {}
    while time.monotonic() < deadline:
        runs = (await api.get("/api/runs", params={"app_id": app_id}, headers=headers)).json()["data"]
        run = runs[0] if runs else {}
        if run.get("status") == "cancelled":
            break
        await anyio.sleep(0.1)
    assert run.get("status") == "cancelled", run
    await anyio.sleep(1.5)
    final = (await api.get(f"/api/runs/{run['id']}", headers=headers)).json()
    assert final["status"] == "cancelled" and final["result"] is None
    assert final["progress_done"] < STEPS
    return final


async def test_notifications_cancelled_cancels_the_run_and_keeps_the_session(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, slow_spec())
        first_progress = anyio.Event()

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            first_progress.set()

        async with sse_client(sse_url(url)) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            async with anyio.create_task_group() as tg:

                async def call() -> None:
                    await session.call_tool("slow", {}, progress_callback=on_progress)

                tg.start_soon(call)
                with anyio.fail_after(60):
                    await first_progress.wait()
                tg.cancel_scope.cancel()  # the session sends notifications/cancelled; the stream stays open
            await _wait_cancelled(api, app_id, headers)
            await session.send_ping()  # the session survived the cancel


async def test_dropping_the_sse_stream_cancels_the_run(stack: Stack) -> None:
    """A raw client: no notifications/cancelled is ever sent, the GET stream just goes away mid-call."""
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, slow_spec())
        async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=60)) as http:
            async with http.stream("GET", sse_url(url), headers={"Accept": "text/event-stream"}) as stream:
                lines = stream.aiter_lines()

                async def next_data() -> dict | str:
                    while True:
                        line = await lines.__anext__()
                        if line.startswith("data:"):
                            data = line[5:].strip()
                            return data if data.startswith("/") else json.loads(data)

                endpoint = await next_data()
                post = stack.base_url + str(endpoint)
                init = {"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
                await http.post(post, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
                assert (await next_data())["id"] == 1
                await http.post(post, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
                call = {"name": "slow", "arguments": {}, "_meta": {"progressToken": "p1"}}
                await http.post(post, json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call})
                with anyio.fail_after(60):
                    while (await next_data()).get("method") != "notifications/progress":
                        pass
            # the stream is closed here, mid-call
        await _wait_cancelled(api, app_id, headers)


async def test_regenerating_the_url_closes_open_legacy_streams(stack: Stack) -> None:
    app_id, url = stack.publish_and_enable("three_steps.yaml")
    async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=30)) as http:
        async with http.stream("GET", sse_url(url), headers={"Accept": "text/event-stream"}) as stream:
            assert stream.status_code == 200
            await anyio.to_thread.run_sync(lambda: stack.cli("mcp", "regenerate", app_id))
            with anyio.fail_after(15):
                async for _ in stream.aiter_lines():
                    pass
        assert (await http.get(sse_url(url))).status_code == 404


def test_the_inspector_lists_tools_over_legacy_sse(app_url: str) -> None:
    exe = NODE_BIN / "mcp-inspector"
    if not exe.exists():
        pytest.fail("the MCP Inspector is not installed: run `npm install` in the repository")
    env = {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(exe), "--cli", sse_url(app_url), "--transport", "sse", "--method", "tools/list"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert [tool["name"] for tool in json.loads(result.stdout)["tools"]] == ["word_report"]
