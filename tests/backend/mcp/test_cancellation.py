"""A caller that goes away mid-call: the run is marked cancelled and the worker stops early."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import httpx
import pytest
from mcp import Client
from support.apps import SLOW_STEPS, ended_run, published_app, slow_spec
from support.stack import Stack, running, start_embedded

pytestmark = pytest.mark.anyio

# Long enough that a handshake call whose notifications/cancelled is lost while the client closes (the SDK's
# teardown can cut that POST; the call's resumable stream is then given up after stream_abandon_seconds, 10 s,
# plus up to 10 s more while a resumption's "reader" mark lasts) is still cancelled mid-run rather than
# finishing first: a step takes about 30 ms on an idle machine, so about 36 s in all. A cancelled run stops
# early, so the length costs nothing while cancelling works.
STEPS = SLOW_STEPS * 20


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_dropping_the_call_cancels_the_run_and_stops_the_worker(stack: Stack, mode: str) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, slow_spec(steps=STEPS))

        first_progress = anyio.Event()

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            first_progress.set()

        async with Client(url, mode=mode) as client:
            async with anyio.create_task_group() as tg:

                async def call() -> None:
                    await client.call_tool("slow", {}, progress_callback=on_progress)

                tg.start_soon(call)
                with anyio.fail_after(60):
                    await first_progress.wait()
                tg.cancel_scope.cancel()

        deadline = time.monotonic() + 60
        run: dict = {}
        while time.monotonic() < deadline:
            runs = (await api.get("/api/runs", params={"app_id": app_id}, headers=headers)).json()["data"]
            run = runs[0] if runs else {}
            if run.get("status") == "cancelled":
                break
            await anyio.sleep(0.1)
        assert run.get("status") == "cancelled", run

        # the worker noticed: progress stops short of the end and stays there
        await anyio.sleep(1.5)
        final = (await api.get(f"/api/runs/{run['id']}", headers=headers)).json()
        assert final["status"] == "cancelled"
        assert final["result"] is None
        assert final["progress_done"] < STEPS


@pytest.fixture(scope="module")
def keeps_abandoned_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An embedded Toolpress set to let a run finish when its caller's stream drops."""
    with running(start_embedded(tmp_path_factory.mktemp("no-cancel-on-disconnect"), cancel_on_disconnect="false")) as started:
        yield started


async def test_with_cancel_on_disconnect_off_a_dropped_call_still_finishes(keeps_abandoned_runs: Stack) -> None:
    steps = 12
    async with httpx.AsyncClient(base_url=keeps_abandoned_runs.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, slow_spec(steps=steps))
        # a bare HTTP client that drops the call's stream without sending notifications/cancelled
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "slow", "arguments": {}, "_meta": {"progressToken": "p"}}}
        post = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
        async with api.stream("POST", url, json=call, headers=post) as stream:
            with anyio.fail_after(60):
                async for line in stream.aiter_lines():
                    if "notifications/progress" in line:
                        break

        run = await ended_run(api, app_id, headers)
        assert run["status"] == "succeeded", run
        assert run["result"] == {"last": str(steps - 1)} and run["progress_done"] == steps
