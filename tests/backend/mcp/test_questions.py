"""Runs that ask the caller (ask step, llm provider: client), over MCP in both protocol generations.

The production stack has two API processes behind a round-robin balancer and two workers: the run parks in
one worker, the answer comes in through either process, and the run resumes (in one test, on the other
worker, the first one having been stopped while the run waited). The embedded stack checks the branches,
the capability check and the time limit (its maintenance loop ends unanswered runs).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
import yaml
from mcp import Client
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPError
from support.apps import published_app
from support.proxy import through
from support.remote_api import Remote, remote  # noqa: F401 - the fixture
from support.tasks_client import TaskHandle, Tasks, get_task, update_task, wait_for_task
from support.stack import Stack, start_embedded, stop_process, stop_stack

pytestmark = pytest.mark.anyio

FORM = {"username": {"type": "string", "description": "Your name"},
        "plan": {"type": "string", "oneOf": [{"const": "free", "title": "Free"}, {"const": "pro", "title": "Pro"}],
                 "default": "free"}}


def _spec(steps: list[dict[str, Any]], value: str, **extra: Any) -> str:
    doc = {"name": f"Asking {uuid.uuid4().hex[:8]}", "tool_name": "asking",
           "inputs": [{"name": "topic", "type": "string", "default": "cats"}], "steps": steps,
           "outputs": [{"name": "text", "type": "string", "value": value}], **extra}
    return yaml.safe_dump(doc, sort_keys=False)


def _full_spec(remote_url: str) -> str:
    """An HTTP step, a question for the human, then the caller's model."""
    return _spec([
        {"id": "fetch", "type": "http_request", "url": f"{remote_url}/count"},
        {"id": "form", "type": "ask", "message": "Who wants to hear about {{ inputs.topic }}?", "fields": FORM,
         "required": ["username"]},
        {"id": "poem", "type": "llm", "provider": "client", "system": "Be brief.", "max_tokens": 50,
         "user": "A line about {{ inputs.topic }} for {{ steps.form.content.username }}"},
    ], "{{ steps.fetch.json.n }} {{ steps.form.content.username }} {{ steps.form.content.plan }}: {{ steps.poem.text }}")


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An embedded stack whose maintenance loop looks for unanswered questions twice a second."""
    stack = start_embedded(Path(tmp_path_factory.mktemp("questions-embedded")), lost_run_sweep_seconds="0.5")
    try:
        yield stack
    finally:
        stop_stack(stack)


class _Caller:
    """A client's callbacks: what it was asked, and the answers it gives."""

    def __init__(self, action: str = "accept", content: dict[str, Any] | None = None) -> None:
        self.action, self.content = action, content if content is not None else {"username": "ada", "plan": "pro"}
        self.elicited: list[types.ElicitRequestParams] = []
        self.sampled: list[types.CreateMessageRequestParams] = []
        self.before_answer: Any = None

    async def elicit(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.elicited.append(params)
        if self.before_answer is not None:
            await self.before_answer()
        return types.ElicitResult(action=self.action, content=self.content if self.action == "accept" else None)

    async def sample(self, context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.sampled.append(params)
        text = params.messages[0].content.text  # type: ignore[union-attr]
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text=f"<{text}>"),
                                         model="caller-model", stop_reason="endTurn")

    def client(self, url: str, mode: str) -> Client:
        return Client(url, mode=mode, elicitation_callback=self.elicit, sampling_callback=self.sample)


async def _runs(api: httpx.AsyncClient, headers: dict[str, str], app_id: Any) -> list[dict[str, Any]]:
    return (await api.get("/api/runs", params={"app_id": app_id}, headers=headers)).json()["data"]


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_the_human_and_the_callers_model_answer_through_either_process(two_by_two, remote: Remote,
                                                                             mode: str) -> None:
    stack, via, balancer = two_by_two
    remote.routes["/count"] = (200, {"n": 7})
    async with httpx.AsyncClient(base_url=via, timeout=30) as api:
        app_id, url, headers = await published_app(api, _full_spec(remote.url))
        caller = _Caller()
        before = list(balancer.counts)
        async with caller.client(through(url, via), mode) as client:
            result = await client.call_tool("asking", {"topic": "owls"})
        assert not result.is_error, result.content
        assert result.structured_content == {"text": "7 ada pro: <A line about owls for ada>"}
        [elicited] = caller.elicited
        assert elicited.message == "Who wants to hear about owls?"
        assert elicited.requested_schema["properties"] == FORM
        [sampled] = caller.sampled
        assert sampled.max_tokens == 50 and sampled.system_prompt == "Be brief."
        assert len(remote.requests) == 1  # the HTTP step ran once, before the run parked
        [run] = await _runs(api, headers, app_id)
        assert run["status"] == "succeeded" and run["question"] is None
        assert [step["step_id"] for step in run["trace"]] == ["fetch", "form", "poem"]
    served = [after - start for after, start in zip(balancer.counts, before, strict=True)]
    assert all(n >= 1 for n in served), served


async def test_a_parked_run_resumes_on_another_worker_after_its_own_one_stopped(two_by_two, remote: Remote) -> None:
    stack, via, _ = two_by_two
    remote.routes["/count"] = (200, {"n": 1})
    async with httpx.AsyncClient(base_url=via, timeout=30) as api:
        app_id, url, headers = await published_app(api, _full_spec(remote.url))
        caller, parked_on = _Caller(), []

        async def stop_the_parking_worker() -> None:
            [run] = await _runs(api, headers, app_id)
            assert run["status"] == "waiting_for_input" and run["question"]["kind"] == "elicit"
            parked_on.append(run["worker"])
            pid = int(run["worker"].split("@")[0].rsplit("-", 1)[1])
            stop_process(next(p for p in stack.processes if p.pid == pid))

        caller.before_answer = stop_the_parking_worker
        async with caller.client(through(url, via), "2026-07-28") as client:
            result = await client.call_tool("asking", {"topic": "owls"})
        assert result.structured_content == {"text": "1 ada pro: <A line about owls for ada>"}
        [run] = await _runs(api, headers, app_id)
        assert run["status"] == "succeeded" and run["worker"] not in (None, parked_on[0])


async def test_decline_fails_with_the_builders_message_and_cancel_ends_with_the_given_outputs(embedded) -> None:
    spec = _spec([{"id": "form", "type": "ask", "message": "Go on?", "fields": {"ok": {"type": "boolean"}},
                   "on_decline": {"do": "fail", "message": "{{ inputs.topic }} declined"},
                   "on_cancel": {"do": "end", "outputs": {"text": "stopped by the user"}}},
                  {"id": "after", "type": "log", "message": "not reached"}], "went on")
    async with httpx.AsyncClient(base_url=embedded.base_url, timeout=30) as api:
        _, url, _ = await published_app(api, spec)
    for mode in ("legacy", "2026-07-28"):
        async with _Caller("decline").client(url, mode) as client:
            declined = await client.call_tool("asking", {})
        assert declined.is_error and "cats declined" in declined.content[0].text  # type: ignore[union-attr]
        async with _Caller("cancel").client(url, mode) as client:
            cancelled = await client.call_tool("asking", {})
        assert not cancelled.is_error and cancelled.structured_content == {"text": "stopped by the user"}


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_client_without_the_capability_is_told_the_app_needs_it(embedded, mode: str) -> None:
    spec = _spec([{"id": "poem", "type": "llm", "provider": "client", "user": "hi"}], "{{ steps.poem.text }}")
    async with httpx.AsyncClient(base_url=embedded.base_url, timeout=30) as api:
        _, url, headers = await published_app(api, spec)
    async with Client(url, mode=mode) as client:
        result = await client.call_tool("asking", {})
    assert result.is_error
    assert "needs a client that declares the sampling capability" in result.content[0].text  # type: ignore[union-attr]


async def test_an_unanswered_question_ends_the_run_with_a_clear_message(embedded) -> None:
    spec = _spec([{"id": "form", "type": "ask", "message": "Quick!", "fields": {"ok": {"type": "boolean"}},
                   "timeout": 1}], "x")
    async with httpx.AsyncClient(base_url=embedded.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, spec)
        caller = _Caller(content={"ok": True})

        async def wait_for_the_time_limit() -> None:
            deadline = time.monotonic() + 30
            while (await _runs(api, headers, app_id))[0]["status"] != "failed":
                assert time.monotonic() < deadline, "the waiting run was not ended"
                await anyio.sleep(0.1)

        caller.before_answer = wait_for_the_time_limit
        async with caller.client(url, "2026-07-28") as client:
            result = await client.call_tool("asking", {})
        [run] = await _runs(api, headers, app_id)
    message = "no answer to the question of step 'form' within 1 s; the run was stopped"
    assert run["error"] == message
    assert result.is_error and message in result.content[0].text  # type: ignore[union-attr]


async def test_a_waiting_run_can_be_cancelled_and_a_late_answer_is_refused(embedded) -> None:
    spec = _spec([{"id": "form", "type": "ask", "message": "Well?", "fields": {"ok": {"type": "boolean"}}}], "x")
    async with httpx.AsyncClient(base_url=embedded.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, spec)
        caller = _Caller(content={"ok": True})

        async def cancel_it() -> None:
            [run] = await _runs(api, headers, app_id)
            assert run["status"] == "waiting_for_input"
            cancelled = await api.post(f"/api/runs/{run['id']}/cancel", headers=headers)
            assert cancelled.status_code == 200, cancelled.text

        caller.before_answer = cancel_it
        async with caller.client(url, "2026-07-28") as client:
            result = await client.call_tool("asking", {})
        [run] = await _runs(api, headers, app_id)
    assert run["status"] == "cancelled"
    assert result.is_error and "no longer waits for this answer (it is cancelled" in result.content[0].text  # type: ignore[union-attr]


async def test_the_retry_that_carries_the_answer_counts_against_the_urls_rate_limit(embedded) -> None:
    spec = _spec([{"id": "form", "type": "ask", "message": "Well?", "fields": {"ok": {"type": "boolean"}}}], "x")
    async with httpx.AsyncClient(base_url=embedded.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, spec)
        limits = {"calls_per_minute": 1, "max_concurrent_runs": None}
        assert (await api.put(f"/api/apps/{app_id}/mcp/limits", json=limits, headers=headers)).status_code == 200
        caller = _Caller(content={"ok": True})
        refused: BaseException | None = None
        try:
            async with caller.client(url, "2026-07-28") as client:
                await client.call_tool("asking", {})
        except Exception as exc:  # noqa: BLE001 - the SDK raises the MCP error inside an exception group
            while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
                exc = exc.exceptions[0]
            refused = exc
        [run] = await _runs(api, headers, app_id)
    assert isinstance(refused, MCPError) and "rate limit reached" in refused.error.message, repr(refused)
    assert len(caller.elicited) == 1
    assert run["status"] == "waiting_for_input"  # the refused retry recorded no answer


async def test_a_task_that_asks_is_input_required_until_tasks_update_answers_it(embedded) -> None:
    spec = _spec([{"id": "form", "type": "ask", "message": "Size?", "fields": FORM, "required": ["username"]}],
                 "{{ steps.form.content.username }}/{{ steps.form.content.plan }}", tasks="always")
    async with httpx.AsyncClient(base_url=embedded.base_url, timeout=30) as api:
        _, url, _ = await published_app(api, spec)
    async with Client(url, mode="2026-07-28", extensions=[Tasks()], elicitation_callback=_Caller().elicit) as client:
        handle = await client.session.call_tool("asking", {}, allow_claimed=True)
        assert isinstance(handle, TaskHandle)
        state = await get_task(client.session, handle.task_id)
        deadline = time.monotonic() + 30
        while state.status != "input_required":
            assert state.status == "working" and time.monotonic() < deadline, state
            await anyio.sleep(0.1)
            state = await get_task(client.session, handle.task_id)
        [(key, request)] = (state.input_requests or {}).items()
        assert request["method"] == "elicitation/create" and request["params"]["message"] == "Size?"
        await update_task(client.session, handle.task_id, {key: {"action": "accept", "content": {"username": "bo"}}})
        final = await wait_for_task(client.session, handle.task_id)
    assert final.status == "completed" and final.result is not None
    assert final.result["structuredContent"] == {"text": "bo/free"}


async def test_a_legacy_sse_client_is_asked_on_its_stream(embedded, remote: Remote) -> None:
    remote.routes["/count"] = (200, {"n": 3})
    async with httpx.AsyncClient(base_url=embedded.base_url, timeout=30) as api:
        _, url, _ = await published_app(api, _full_spec(remote.url))
    caller = _Caller()
    async with sse_client(url.removesuffix("/mcp") + "/sse") as (read, write), ClientSession(
            read, write, elicitation_callback=caller.elicit, sampling_callback=caller.sample) as session:
        await session.initialize()
        result = await session.call_tool("asking", {"topic": "bees"})
    assert result.structured_content == {"text": "3 ada pro: <A line about bees for ada>"}
    assert len(caller.elicited) == 1 and len(caller.sampled) == 1


async def test_the_rest_api_answers_a_waiting_run_and_refuses_a_bad_or_stale_answer(embedded) -> None:
    spec = _spec([{"id": "form", "type": "ask", "message": "Name?", "fields": FORM, "required": ["username"]}],
                 "{{ steps.form.content.username }}")
    async with httpx.AsyncClient(base_url=embedded.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, spec)
        caller, replies = _Caller(), []

        async def answer_through_the_api_first() -> None:
            [run] = await _runs(api, headers, app_id)
            path = f"/api/runs/{run['id']}/answer"
            replies.append(await api.post(path, json={"question_id": run["question"]["id"], "action": "maybe"},
                                          headers=headers))
            replies.append(await api.post(path, json={"question_id": "form.9", "action": "accept"}, headers=headers))
            replies.append(await api.post(path, json={"question_id": run["question"]["id"], "action": "accept",
                                                      "content": {"username": "by-api"}}, headers=headers))

        caller.before_answer = answer_through_the_api_first
        async with caller.client(url, "legacy") as client:
            result = await client.call_tool("asking", {})
    bad, stale, taken = replies
    assert bad.status_code == 422 and "action" in bad.json()["detail"]
    assert stale.status_code == 409 and stale.json()["detail"] == "the run waits for an answer to question 'form.0', not 'form.9'"
    assert taken.status_code == 200 and taken.json()["status"] == "queued"
    assert result.structured_content == {"text": "by-api"}  # the client's own later answer was not applied twice
