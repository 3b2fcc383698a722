"""A caller that goes away mid-call: the run is marked cancelled and the worker stops early."""

from __future__ import annotations

import time

import anyio
import httpx
import pytest
from mcp import Client
from support.apps import SLOW_STEPS, published_app, slow_spec
from support.stack import Stack

pytestmark = pytest.mark.anyio

STEPS = SLOW_STEPS


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_dropping_the_call_cancels_the_run_and_stops_the_worker(stack: Stack, mode: str) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, slow_spec())

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

        deadline = time.monotonic() + 30
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
