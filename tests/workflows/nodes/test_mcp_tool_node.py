"""The mcp_tool node (workflows/nodes/mcp_tool.py, workflows/mcpcall) against a real MCP server started here."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from support.remote_mcp import TOKEN, Remote, remote_mcp_server
from workflows import NodeError, ProgressEvent, RunCancelled, SpecError, execute, spec_from_dict
from workflows.mcpcall import list_remote_tools


@pytest.fixture(scope="module")
def remote() -> Iterator[Remote]:
    with remote_mcp_server() as server:
        yield server


def _spec(tool: str, arguments: dict[str, Any] | None = None, **fields: Any) -> Any:
    return spec_from_dict({
        "name": "Caller", "inputs": [{"name": "x", "type": "integer", "required": False}],
        "steps": [{"id": "call", "type": "mcp_tool", "title": "remote call", "url": "{{ context.remote }}",
                   "tool": tool, "arguments": arguments or {},
                   "headers": {"Authorization": "Bearer {{ secrets.REMOTE_TOKEN }}"}, **fields}],
        "outputs": [],
    })


def _call(remote: Remote, tool: str, arguments: dict[str, Any] | None = None, *, inputs: dict[str, Any] | None = None,
          **kwargs: Any) -> Any:
    fields = {k: v for k, v in kwargs.items() if k in ("on_error", "timeout")}
    options = {k: v for k, v in kwargs.items() if k not in fields}
    options.setdefault("http_allow", remote.allow)
    return execute(_spec(tool, arguments, **fields), inputs or {}, context={"remote": remote.url},
                   secrets={"REMOTE_TOKEN": TOKEN}, **options)


def test_structured_content_is_the_result_and_arguments_are_templates(remote: Remote) -> None:
    result = _call(remote, "add", {"a": "{{ inputs.x }}", "b": 2}, inputs={"x": 40})
    [step] = result.trace
    assert step.output is not None and step.output["result"] == {"total": 42} and step.output["is_error"] is False
    assert step.input is not None and step.input["headers"]["Authorization"] == "Bearer [secret REMOTE_TOKEN]"
    seen = remote.headers[-1]
    assert seen["authorization"] == f"Bearer {TOKEN}" and seen["x-toolpress-call-depth"] == "0"


def test_text_content_is_the_result_when_there_is_no_structured_content(remote: Remote) -> None:
    [step] = _call(remote, "echo", {"text": "hi"}).trace
    assert step.output is not None and step.output["text"] == "echo: hi"


def test_the_remote_tools_progress_is_forwarded_as_the_runs_progress(remote: Remote) -> None:
    events: list[ProgressEvent] = []
    _call(remote, "count", {"n": 3}, on_progress=events.append)
    assert [e.message for e in events] == ["step 1/2: count 1/3 at 1", "step 2/3: count 2/3 at 2",
                                           "step 3/4: count 3/3 at 3", "step 4/4: remote call"]


def test_is_error_fails_the_step_or_continues_with_is_error(remote: Remote) -> None:
    with pytest.raises(NodeError, match="the tool 'broken' reported an error: .*the remote tool broke"):
        _call(remote, "broken")
    [step] = _call(remote, "broken", on_error="continue").trace
    assert step.status == "succeeded" and step.output is not None and step.output["is_error"] is True
    assert "the remote tool broke" in step.output["text"]


def test_cancelling_the_run_cancels_the_remote_call(remote: Remote) -> None:
    remote.started.clear()
    remote.cancelled.clear()
    cancel = threading.Event()
    threading.Thread(target=lambda: remote.started.wait(30) and cancel.set(), daemon=True).start()
    with pytest.raises(RunCancelled):
        _call(remote, "wait", should_cancel=cancel.is_set)
    assert remote.cancelled.wait(30)  # the remote tool saw the cancellation


def test_a_private_address_is_refused_without_the_allow_list(remote: Remote) -> None:
    with pytest.raises(NodeError, match="refusing to connect to '127.0.0.1'"):
        _call(remote, "add", {"a": 1, "b": 2}, http_allow=[])


def test_the_call_depth_is_limited_like_sub_app(remote: Remote) -> None:
    with pytest.raises(NodeError, match="apps may nest at most 5 calls deep"):
        _call(remote, "add", {"a": 1, "b": 2}, call_stack=("a", "b", "c", "d", "e"))
    _call(remote, "add", {"a": 1, "b": 2}, call_stack=("a", "b"))
    assert remote.headers[-1]["x-toolpress-call-depth"] == "2"


def test_a_secret_may_not_go_into_the_arguments() -> None:
    with pytest.raises(SpecError, match="secret"):
        spec_from_dict({"name": "C", "steps": [{"id": "call", "type": "mcp_tool", "url": "https://example.com/mcp",
                                                "tool": "t", "arguments": {"k": "{{ secrets.KEY }}"}}],
                        "outputs": []})


def test_the_remote_tools_are_listed_with_their_input_schema(remote: Remote) -> None:
    tools = {t.name: t for t in list_remote_tools(remote.url, headers={}, allow=tuple(remote.allow))}
    assert set(tools) == {"add", "echo", "count", "broken", "wait"}
    assert tools["add"].description == "Add two integers."
    assert tools["add"].input_schema["properties"]["a"]["type"] == "integer"
    assert set(tools["add"].input_schema["required"]) == {"a", "b"}
