"""The broker goes away while calls arrive: calls fail fast and truthfully; when it returns, calls work."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client

from support.stack import stop_stack, wait_until

from .conftest import RedisServer, run_row, start_on_broker


async def _call(url: str, text: str, limit: float = 60):  # type: ignore[no-untyped-def]
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    with anyio.fail_after(limit):
        async with Client(url, mode="legacy") as client:
            result = await client.call_tool("word_report", {"text": text}, progress_callback=on_progress)
    return result, progress


def test_dead_broker_fails_calls_fast_and_recovers_without_restart(tmp_path: Path, own_redis: RedisServer) -> None:
    stack = start_on_broker(tmp_path, own_redis.url)
    try:
        app_id, url = stack.publish_and_enable("three_steps.yaml")
        result, progress = anyio.run(_call, url, "before")
        assert result.is_error is False and progress == [1, 2, 3]

        own_redis.kill()
        started = time.monotonic()
        result, _ = anyio.run(_call, url, "during", 30)
        elapsed = time.monotonic() - started
        assert result.is_error is True
        assert "task queue is unavailable" in result.content[0].text
        assert elapsed < 10, f"the call took {elapsed:.1f} s to fail"
        row = run_row(stack, app_id)
        assert row["status"] == "failed" and "unavailable" in row["error"] and row["started_at"] is None

        ready = httpx.get(f"{stack.base_url}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["failed"] == ["broker"]

        own_redis.start()  # same port, empty: nothing queued survived, and nothing claimed to be queued
        wait_until(lambda: httpx.get(f"{stack.base_url}/readyz", timeout=10).status_code == 200, 30, "readiness")
        result, progress = anyio.run(_call, url, "after the broker came back")
        assert result.is_error is False, result.content[0].text
        assert progress == [1, 2, 3]
        assert run_row(stack, app_id)["status"] == "succeeded"
    finally:
        stop_stack(stack)


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
