"""Progress events that never reach the API: the call still ends with its result, through the database.

The worker publishes its events on a second Redis server that the API process does not listen to (pub/sub
channels are server-wide, so another database number would not do), so not one event arrives; the API's
run watcher (one status query a second for every waiting call) is what ends the call.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client

from support.stack import REDIS_URL, stop_stack

from .conftest import RedisServer, run_row, start_on_broker


@pytest.mark.timeout(240)  # two process starts on a shared machine
def test_a_call_whose_events_are_all_lost_still_returns_its_result(tmp_path: Path, own_redis: RedisServer) -> None:
    stack = start_on_broker(tmp_path, REDIS_URL, events_url=REDIS_URL, workers=0)
    try:
        stack.env["TOOLPRESS_EVENTS_URL"] = own_redis.url  # only the worker started below publishes there
        stack.start_worker()
        app_id, url = stack.publish_and_enable("three_steps.yaml")
        progress: list[float] = []

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress.append(done)

        async def call():  # type: ignore[no-untyped-def]
            with anyio.fail_after(60):
                async with Client(url, mode="legacy") as client:
                    return await client.call_tool("word_report", {"text": "lost events"}, progress_callback=on_progress)

        result = anyio.run(call)
        assert result.is_error is False, result.content[0].text
        assert result.structured_content["words"] == 2
        assert progress == []  # nothing came over the bus: the database poll ended the call
        row = run_row(stack, app_id)
        assert row["status"] == "succeeded"
        assert row["progress_done"] == row["progress_total"] == 3
    finally:
        stop_stack(stack)
