"""RabbitMQ as the Celery broker, with progress over Redis pub/sub."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import httpx
from kombu import Connection
from mcp import Client

from support.stack import REDIS_URL, stop_stack

from .conftest import run_row, start_on_broker

AMQP_URL = os.environ.get("TOOLPRESS_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672//")


def test_a_call_with_progress_over_rabbitmq(tmp_path: Path) -> None:
    stack = start_on_broker(tmp_path, AMQP_URL, events_url=REDIS_URL)
    try:
        app_id, url = stack.publish_and_enable("three_steps.yaml")
        progress: list[tuple[float, str | None]] = []

        async def call():  # type: ignore[no-untyped-def]
            async def on_progress(done: float, total: float | None, message: str | None) -> None:
                progress.append((done, message))

            with anyio.fail_after(60):
                async with Client(url, mode="2026-07-28") as client:
                    return await client.call_tool("word_report", {"text": "over rabbit"}, progress_callback=on_progress)

        result = anyio.run(call)
        assert result.is_error is False, result.content[0].text
        assert result.structured_content["words"] == 2
        assert [p[0] for p in progress] == [1, 2, 3]
        assert run_row(stack, app_id)["status"] == "succeeded"
        ready = httpx.get(f"{stack.base_url}/readyz", timeout=10).json()
        assert ready["checks"]["broker"] == {"ok": True, "transport": "amqp"}
        metrics = httpx.get(f"{stack.base_url}/metrics", timeout=10).text
        assert f'toolpress_queue_depth{{queue="{stack.env["TOOLPRESS_QUEUE"]}"}} 0.0' in metrics
    finally:
        stop_stack(stack)
        with Connection(AMQP_URL, connect_timeout=5) as conn:
            conn.default_channel.queue_delete(stack.env["TOOLPRESS_QUEUE"])
