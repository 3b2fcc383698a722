"""Regenerate and disable stop what the old URL started: in-flight calls and tasks are cancelled at once."""

from __future__ import annotations

import anyio
import httpx
import pytest
import yaml
from mcp import Client
from support.apps import SLOW_STEPS, published_app, slow_spec
from support.stack import Stack
from support.tasks_client import Tasks, get_task

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("action", "mode", "reason"),
    [
        ("regenerate", "legacy", "regenerated"),
        ("disable", "2026-07-28", "switched off"),
    ],
)
async def test_an_in_flight_call_is_cancelled_and_told_why(stack: Stack, action: str, mode: str, reason: str) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, slow_spec())
        started = anyio.Event()

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            started.set()

        async with Client(url, mode=mode) as client, anyio.create_task_group() as tg:
            outcome: list = []

            async def call() -> None:
                outcome.append(await client.call_tool("slow", {}, progress_callback=on_progress))

            tg.start_soon(call)
            with anyio.fail_after(60):
                await started.wait()
            assert (await api.post(f"/api/apps/{app_id}/mcp/{action}", headers=headers)).status_code == 200
            with anyio.fail_after(15):  # the call ends promptly, not after its remaining steps
                while not outcome:
                    await anyio.sleep(0.05)
        [result] = outcome
        assert result.is_error and reason in result.content[0].text

        run = (await api.get("/api/runs", params={"app_id": app_id}, headers=headers)).json()["data"][0]
        assert run["status"] == "cancelled" and reason in run["error"]
        await anyio.sleep(1.5)  # and the worker stopped
        assert (await api.get(f"/api/runs/{run['id']}", headers=headers)).json()["progress_done"] < SLOW_STEPS


async def test_a_task_started_through_the_old_url_is_cancelled(stack: Stack) -> None:
    spec = yaml.safe_load(slow_spec())
    spec["tasks"] = "always"
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, yaml.safe_dump(spec))
        async with Client(url, mode="2026-07-28", extensions=[Tasks()]) as client:
            handle = await client.session.call_tool("slow", {}, allow_claimed=True)
        new_url = (await api.post(f"/api/apps/{app_id}/mcp/regenerate", headers=headers)).json()["url"]
        async with Client(new_url, mode="2026-07-28", extensions=[Tasks()]) as client:
            state = await get_task(client.session, handle.task_id)  # still the app's task, seen through the new URL
        assert state.status == "cancelled" and "regenerated" in (state.status_message or "")
