"""Two API processes behind a plain round-robin balancer: no request needs to reach the process of an earlier one."""

from __future__ import annotations

import time

import anyio
import httpx
import pytest
import yaml
from mcp import Client
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from support.apps import published_app, slow_spec
from support.proxy import through
from support.stack import FIXTURES, stop_process
from support.streams import open_session, sse_events
from support.tasks_client import TaskHandle, Tasks, get_task, wait_for_task

pytestmark = pytest.mark.anyio


def _word_report(**fields: object) -> str:
    doc = yaml.safe_load((FIXTURES / "three_steps.yaml").read_text())
    doc.update(name=f"Word Report {time.monotonic_ns()}", **fields)
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_list_and_call_with_progress_alternate_between_processes(balanced, mode: str) -> None:
    stack, via, balancer = balanced
    async with httpx.AsyncClient(base_url=via, timeout=30) as api:
        _, url, _ = await published_app(api, _word_report())
    before = list(balancer.counts)
    async with Client(through(url, via), mode=mode) as client:
        for _ in range(3):
            tools = await client.list_tools()
            assert [t.name for t in tools.tools] == ["word_report"]
            progress: list[tuple[float, float | None, str | None]] = []

            async def on_progress(done: float, total: float | None, message: str | None) -> None:
                progress.append((done, total, message))

            result = await client.call_tool("word_report", {"text": "a b"}, progress_callback=on_progress)
            assert result.structured_content == {"words": 2, "report": "report: 2 words in 'a b'"}
            assert [p[0] for p in progress] == sorted(p[0] for p in progress) and progress[-1][0] == 3
    served = [after - start for after, start in zip(balancer.counts, before, strict=True)]
    assert all(n >= 3 for n in served), served  # both processes answered part of the conversation


async def test_legacy_sse_sessions_take_messages_through_any_process(balanced) -> None:
    stack, via, balancer = balanced
    async with httpx.AsyncClient(base_url=via, timeout=30) as api:
        _, url, _ = await published_app(api, _word_report())
    sse_url = through(url, via).removesuffix("/mcp") + "/sse"
    before = list(balancer.counts)
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with sse_client(sse_url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        for text in ("one", "one two", "one two three"):
            result = await session.call_tool("word_report", {"text": text}, progress_callback=on_progress)
            assert result.structured_content is not None
            assert result.structured_content["words"] == len(text.split())
        await session.send_ping()
    served = [after - start for after, start in zip(balancer.counts, before, strict=True)]
    assert all(n >= 3 for n in served), served  # the stream sat in one process, messages went to both
    assert progress == [1, 2, 3] * 3


async def test_a_dropped_call_is_cancelled_whichever_process_ran_it(balanced) -> None:
    stack, via, _ = balanced
    async with httpx.AsyncClient(base_url=via, timeout=30) as api:
        app_id, url, headers = await published_app(api, slow_spec())
        started = anyio.Event()

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            started.set()

        async with Client(through(url, via), mode="legacy") as client, anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.call_tool("slow", {}, progress_callback=on_progress))
            with anyio.fail_after(60):
                await started.wait()
            tg.cancel_scope.cancel()
        deadline, status = time.monotonic() + 30, None
        while time.monotonic() < deadline and status != "cancelled":
            runs = (await api.get("/api/runs", params={"app_id": app_id}, headers=headers)).json()["data"]
            status = runs[0]["status"] if runs else None
            await anyio.sleep(0.1)
        assert status == "cancelled"


async def test_tasks_are_polled_through_any_process_and_outlive_the_one_that_made_them(balanced) -> None:
    stack, via, _ = balanced
    async with httpx.AsyncClient(base_url=via, timeout=30) as api:
        _, url, _ = await published_app(api, _word_report(tasks="always"))
        async with Client(through(url, via), mode="2026-07-28", extensions=[Tasks()]) as client:
            handle = await client.session.call_tool("word_report", {"text": "x y z"}, allow_claimed=True)
            assert isinstance(handle, TaskHandle)
            final = await wait_for_task(client.session, handle.task_id)
            assert final.result is not None and final.result["structuredContent"]["words"] == 3

        # a task made through the first process, polled after that process has stopped
        slow = yaml.safe_load(slow_spec(steps=15))
        slow["tasks"] = "always"
        _, slow_url, _ = await published_app(api, yaml.safe_dump(slow))
    first, second = list(stack.api)
    async with Client(through(slow_url, first), mode="2026-07-28", extensions=[Tasks()]) as client:
        handle = await client.session.call_tool("slow", {}, allow_claimed=True)
    stop_process(stack.api.pop(first))
    try:
        async with Client(through(slow_url, second), mode="2026-07-28", extensions=[Tasks()]) as client:
            state = await get_task(client.session, handle.task_id)
            assert state.status in ("working", "completed")
            with anyio.fail_after(120):
                final = await wait_for_task(client.session, handle.task_id)
        assert final.status == "completed" and final.result is not None and not final.result.get("isError")
    finally:
        stack.start_api(int(first.rsplit(":", 1)[1]))  # the balancer's upstream comes back for the next tests


async def test_a_regenerate_on_one_process_is_honoured_by_the_other_at_once(balanced) -> None:
    stack, via, _ = balanced
    live = list(stack.api)
    async with httpx.AsyncClient(base_url=live[0], timeout=30) as api:
        app_id, url, headers = await published_app(api, _word_report())
        path = "/mcp/" + url.split("/mcp/", 1)[1]
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        accept = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18"}
        for base in live:
            assert httpx.post(base + path, json=body, headers=accept, timeout=10).status_code == 200
        renewed = (await api.post(f"/api/apps/{app_id}/mcp/regenerate", headers=headers)).json()["url"]
        for base in live:
            assert httpx.post(base + path, json=body, headers=accept, timeout=10).status_code == 404
            new_path = "/mcp/" + renewed.split("/mcp/", 1)[1]
            assert httpx.post(base + new_path, json=body, headers=accept, timeout=10).status_code == 200


async def test_notifications_cancelled_reaches_a_call_running_in_the_other_process(balanced) -> None:
    stack, via, balancer = balanced
    async with httpx.AsyncClient(base_url=via, timeout=30) as api:
        app_id, url, headers = await published_app(api, slow_spec())
        mcp_url = through(url, via)
        post = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
        init = await api.post(mcp_url, headers=post, json={
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
        })
        session = {**post, "mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
        await api.post(mcp_url, headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})

        call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": "slow", "arguments": {}, "_meta": {"progressToken": "p"}}}
        async with api.stream("POST", mcp_url, headers=session, json=call) as stream:
            lines = stream.aiter_lines()
            with anyio.fail_after(60):
                async for line in lines:  # wait for the first progress notification
                    if line.startswith("data:") and "notifications/progress" in line:
                        break
            calls_before = list(balancer.counts)
            cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7, "reason": "enough"}}
            assert (await api.post(mcp_url, headers=session, json=cancel)).status_code == 202
            # the notification went to the process that is not streaming the call
            assert [a - b for a, b in zip(balancer.counts, calls_before, strict=True)].count(1) == 1
            with anyio.fail_after(15):
                async for line in lines:
                    if line.startswith("data:") and '"id":7' in line.replace(" ", ""):
                        assert '"isError":true' in line.replace(" ", "") and "notifications/cancelled" in line
                        break
        run = (await api.get("/api/runs", params={"app_id": app_id}, headers=headers)).json()["data"][0]
        assert run["status"] == "cancelled" and "notifications/cancelled" in run["error"]


_LOGGER_SPEC = """
name: Step logger {n}
tool_name: step_logger
inputs:
  - {{name: who, type: string}}
steps:
  - {{id: detail, type: log, level: debug, message: "looking up {{{{ inputs.who }}}}"}}
  - {{id: found, type: log, message: "found {{{{ inputs.who }}}}"}}
  - {{id: late, type: log, level: warning, message: "{{{{ inputs.who }}}} is late"}}
outputs:
  - {{name: said, type: string, value: "{{{{ steps.found.message }}}}"}}
"""


def _log_catcher() -> tuple[list[tuple[str, str | None, object]], object]:
    logs: list[tuple[str, str | None, object]] = []

    async def on_log(params) -> None:
        logs.append((params.level, params.logger, params.data))

    return logs, on_log


@pytest.mark.filterwarnings("ignore:The logging capability is deprecated")  # handshake clients still use it
async def test_a_handshake_sessions_log_level_set_on_one_process_filters_its_calls_on_the_other(balanced) -> None:
    stack, via, balancer = balanced
    async with httpx.AsyncClient(base_url=via, timeout=30) as api:
        _, url, _ = await published_app(api, _LOGGER_SPEC.format(n=time.monotonic_ns()))
    logs, on_log = _log_catcher()
    async with Client(through(url, via), mode="legacy", logging_callback=on_log) as client:
        assert client.server_capabilities.logging is not None
        result = await client.call_tool("step_logger", {"who": "Ada"})  # no level set: info and above
        assert result.structured_content == {"said": "found Ada"}
        assert logs == [("info", "found", "found Ada"), ("warning", "late", "Ada is late")]
        for level, expected in (("debug", ["debug", "info", "warning"]), ("warning", ["warning"])):
            await client.set_logging_level(level)
            for _ in range(2):  # a round-robin balancer sends one of the two calls to the other process
                logs.clear()
                await client.call_tool("step_logger", {"who": "Ada"})
                assert [entry[0] for entry in logs] == expected


async def test_a_2026_client_gets_step_logs_only_at_the_level_its_call_asks_for(balanced) -> None:
    stack, via, balancer = balanced
    async with httpx.AsyncClient(base_url=via, timeout=30) as api:
        _, url, _ = await published_app(api, _LOGGER_SPEC.format(n=time.monotonic_ns()))
    for log_level, expected in ((None, []), ("info", ["info", "warning"]), ("debug", ["debug", "info", "warning"])):
        logs, on_log = _log_catcher()
        async with Client(through(url, via), mode="2026-07-28", logging_callback=on_log, log_level=log_level) as client:
            result = await client.call_tool("step_logger", {"who": "Grace"})
        assert result.structured_content == {"said": "found Grace"}
        assert [entry[0] for entry in logs] == expected
        assert all("Grace" in data for _, _, data in logs)


_SLOW_CALL = {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
              "params": {"name": "slow", "arguments": {}, "_meta": {"progressToken": "p"}}}


async def _call_then_drop(client: httpx.AsyncClient, url: str, session: dict[str, str], progress: int) -> list[tuple[str, float]]:
    """POST the slow call, read its stream up to `progress` notifications, then drop the connection."""
    seen: list[tuple[str, float]] = []
    async with client.stream("POST", url, headers=session, json=_SLOW_CALL) as stream:
        with anyio.fail_after(60):
            async for event_id, retry, message in sse_events(stream):
                assert event_id is not None
                if message is None:  # the priming event: an id to resume from and a reconnection hint
                    assert retry
                    continue
                seen.append((event_id, message["params"]["progress"]))
                if len(seen) == progress:
                    return seen  # the connection drops here, mid-call
    raise AssertionError(f"the call ended before {progress} progress notifications: {seen}")


async def _resume(client: httpx.AsyncClient, url: str, session: dict[str, str], last: str) -> tuple[list[tuple[str, float]], dict]:
    """GET with Last-Event-ID: the progress notifications that follow, and the call's answer."""
    resumed: list[tuple[str, float]] = []
    resume = {**session, "accept": "text/event-stream", "last-event-id": last}
    async with client.stream("GET", url, headers=resume) as stream:
        assert stream.status_code == 200
        with anyio.fail_after(120):
            async for event_id, _, message in sse_events(stream):
                if message is not None and message.get("id") == _SLOW_CALL["id"]:
                    return resumed, message
                if message is not None and event_id is not None:
                    resumed.append((event_id, message["params"]["progress"]))
    raise AssertionError(f"the resumed stream ended without the call's answer, after {resumed}")


async def test_a_dropped_call_resumes_through_the_other_process_with_the_rest_of_its_progress_and_result(balanced) -> None:
    stack, via, _ = balanced
    first, second = list(stack.api)
    steps = 20
    async with httpx.AsyncClient(base_url=via, timeout=30) as api:
        app_id, url, headers = await published_app(api, slow_spec(steps=steps))
    path = "/mcp/" + url.split("/mcp/", 1)[1]
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=120)) as client:
        session = await open_session(client, first + path)
        seen = await _call_then_drop(client, first + path, session, progress=2)
        resumed, result = await _resume(client, second + path, session, seen[-1][0])
    progress = [p for _, p in seen + resumed]
    assert resumed and progress == sorted(set(progress)) and progress[-1] == steps, progress  # nothing repeated
    assert len({event_id for event_id, _ in seen + resumed}) == len(progress)
    assert result["result"]["structuredContent"] == {"last": str(steps - 1)}
    async with httpx.AsyncClient(base_url=via, timeout=30) as api:
        run = (await api.get("/api/runs", params={"app_id": app_id}, headers=headers)).json()["data"][0]
    assert run["status"] == "succeeded"  # the dropped connection did not cancel a call that can be resumed


async def test_a_resumed_call_whose_process_died_ends_with_a_clear_error_instead_of_hanging(balanced) -> None:
    stack, via, _ = balanced
    first, second = list(stack.api)
    async with httpx.AsyncClient(base_url=via, timeout=30) as api:
        _, url, _ = await published_app(api, slow_spec())
    path = "/mcp/" + url.split("/mcp/", 1)[1]
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=120)) as client:
        session = await open_session(client, first + path)
        seen = await _call_then_drop(client, first + path, session, progress=1)
        process = stack.api.pop(first)
        process.kill()  # no drain: the process serving the call is gone at once
        process.wait(timeout=15)
        try:
            _, ending = await _resume(client, second + path, session, seen[-1][0])
        finally:
            stack.start_api(int(first.rsplit(":", 1)[1]))  # the balancer's upstream comes back for the next tests
    assert "stopped before the call ended" in ending["error"]["message"], ending
