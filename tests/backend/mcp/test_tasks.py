"""The MCP Tasks extension: a tools/call answered with a task handle, polled with tasks/get, cancelled with tasks/cancel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
import yaml
from mcp import Client
from mcp.shared.exceptions import MCPError
from support.apps import SLOW_STEPS, published_app, slow_spec
from support.stack import FIXTURES, Stack, running, start_embedded
from support.tasks_client import TaskHandle, Tasks, cancel_task, get_task, wait_for_task

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"


def _with(spec_yaml: str, **fields: object) -> str:
    doc = yaml.safe_load(spec_yaml)
    doc.update(fields)
    return yaml.safe_dump(doc, sort_keys=False)


def word_report(tasks: str) -> str:
    """The three-step fixture app with its `tasks` setting."""
    return _with((FIXTURES / "three_steps.yaml").read_text(), name=f"Word Report {time.monotonic_ns()}", tasks=tasks)


async def _runs(api: httpx.AsyncClient, app_id: str, headers: dict[str, str]) -> list[dict]:
    return (await api.get("/api/runs", params={"app_id": app_id}, headers=headers)).json()["data"]


async def test_a_task_is_polled_to_its_result(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, word_report("always"))
        async with Client(url, mode=MODERN, extensions=[Tasks()]) as client:
            handle = await client.session.call_tool(
                "word_report", {"text": "One two  THREE", "label": "r"}, allow_claimed=True
            )
            assert isinstance(handle, TaskHandle)
            assert handle.status == "working" and handle.ttl_ms and handle.poll_interval_ms

            # the task is durable before the handle is returned: the run exists and is this task
            runs = await _runs(api, app_id, headers)
            assert [r["id"] for r in runs] == [handle.task_id]

            seen: list = []
            final = await wait_for_task(client.session, handle.task_id, seen)
            assert final.status == "completed", final
            assert final.result is not None
            assert final.result["structuredContent"] == {"words": 3, "report": "r: 3 words in 'one two  three'"}
            assert "words: 3" in final.result["content"][0]["text"]
            assert not final.result.get("isError")

            # polling again gives the same final state
            again = await get_task(client.session, handle.task_id)
            assert again.status == "completed" and again.result == final.result


async def test_the_sdk_client_resolves_a_task_transparently(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        _, url, _ = await published_app(api, word_report("always"))
        extension = Tasks()
        async with Client(url, mode=MODERN, extensions=[extension]) as client:
            result = await client.call_tool("word_report", {"text": "a b c d"})
        assert result.structured_content == {"words": 4, "report": "report: 4 words in 'a b c d'"}
        assert len(extension.handles) == 1  # it did go through a task


async def test_a_failing_app_completes_its_task_with_is_error(stack: Stack) -> None:
    failing = _with((FIXTURES / "failing.yaml").read_text(), name=f"Broken {time.monotonic_ns()}", tasks="always")
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        _, url, _ = await published_app(api, failing)
        async with Client(url, mode=MODERN, extensions=[Tasks()]) as client:
            handle = await client.session.call_tool("broken_lookup", {"key": "k"}, allow_claimed=True)
            final = await wait_for_task(client.session, handle.task_id)
    assert final.status == "completed"
    assert final.result is not None and final.result["isError"] is True
    assert "missing" in final.result["content"][0]["text"]


async def test_cancelling_a_task_stops_the_worker(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, _with(slow_spec(), tasks="always"))
        async with Client(url, mode=MODERN, extensions=[Tasks()]) as client:
            handle = await client.session.call_tool("slow", {}, allow_claimed=True)
            with anyio.fail_after(60):
                while True:  # wait until it is running and has made progress
                    state = await get_task(client.session, handle.task_id)
                    if state.status_message and "steps done" in state.status_message:
                        break
                    await anyio.sleep(0.05)
            await cancel_task(client.session, handle.task_id)
            final = await wait_for_task(client.session, handle.task_id)
        assert final.status == "cancelled" and final.result is None

        await anyio.sleep(1.5)  # the worker noticed: progress stopped short of the end
        run = (await api.get(f"/api/runs/{handle.task_id}", headers=headers)).json()
        assert run["status"] == "cancelled" and run["result"] is None
        assert run["progress_done"] < SLOW_STEPS


async def test_tasks_need_the_declared_extension(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        _, url, _ = await published_app(api, word_report("always"))
        # a client without the extension gets the result directly, even from an app set to `always`
        async with Client(url, mode=MODERN) as plain:
            result = await plain.call_tool("word_report", {"text": "x y"})
            assert result.structured_content == {"words": 2, "report": "report: 2 words in 'x y'"}
        async with Client(url, mode=MODERN, extensions=[Tasks()]) as client:
            handle = await client.session.call_tool("word_report", {"text": "x"}, allow_claimed=True)
            await wait_for_task(client.session, handle.task_id)
        # polling without declaring the extension is refused with the spec's error
        async with Client(url, mode=MODERN) as plain:
            with pytest.raises(MCPError) as refused:
                await get_task(plain.session, handle.task_id)
            assert refused.value.error.code == -32021
        # handshake-era clients always get the synchronous call
        async with Client(url, mode="legacy") as legacy:
            result = await legacy.call_tool("word_report", {"text": "p q r"})
            assert result.structured_content is not None and result.structured_content["words"] == 3


async def test_a_task_is_visible_only_through_its_own_endpoint(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        _, url, _ = await published_app(api, word_report("always"))
        _, other_url, _ = await published_app(api, word_report("always"))
        async with Client(url, mode=MODERN, extensions=[Tasks()]) as client:
            handle = await client.session.call_tool("word_report", {"text": "x"}, allow_claimed=True)
        async with Client(other_url, mode=MODERN, extensions=[Tasks()]) as other:
            for task_id in (handle.task_id, "0" * 32, "not-a-task"):
                with pytest.raises(MCPError) as missing:
                    await get_task(other.session, task_id)
                assert missing.value.error.code == -32602
                assert "Task not found" in missing.value.error.message
            with pytest.raises(MCPError):
                await cancel_task(other.session, handle.task_id)


async def test_never_keeps_calls_synchronous(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        _, url, _ = await published_app(api, word_report("never"))
        extension = Tasks()
        async with Client(url, mode=MODERN, extensions=[extension]) as client:
            result = await client.session.call_tool("word_report", {"text": "x"}, allow_claimed=True)
        assert not isinstance(result, TaskHandle)
        assert extension.handles == []


@pytest.fixture(scope="module")
def zero_threshold(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An embedded Toolpress where any app with a finished run counts as long-running."""
    with running(start_embedded(Path(tmp_path_factory.mktemp("tasks-auto")), task_threshold_seconds="0")) as started:
        yield started


async def test_auto_uses_a_task_once_runs_take_longer_than_the_threshold(zero_threshold: Stack) -> None:
    async with httpx.AsyncClient(base_url=zero_threshold.base_url, timeout=30) as api:
        _, url, _ = await published_app(api, word_report("auto"))
        async with Client(url, mode=MODERN, extensions=[Tasks()]) as client:
            first = await client.session.call_tool("word_report", {"text": "x"}, allow_claimed=True)
            assert not isinstance(first, TaskHandle)  # no history yet: the typical run time is unknown
            second = await client.session.call_tool("word_report", {"text": "x y"}, allow_claimed=True)
            assert isinstance(second, TaskHandle)  # one run took longer than 0 s
            final = await wait_for_task(client.session, second.task_id)
            assert final.result is not None and final.result["structuredContent"]["words"] == 2
