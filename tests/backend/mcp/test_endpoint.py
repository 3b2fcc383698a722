"""The MCP endpoint through the official SDK client, in both protocol generations, on live stacks."""

from __future__ import annotations

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from support.probe import INIT, MCP_HEADERS as HEADERS
from support.stack import Stack

pytestmark = pytest.mark.anyio

MODES = ["legacy", "2026-07-28"]


@pytest.fixture(scope="module")
def word_report(stack: Stack) -> str:
    """The MCP URL of the three-step fixture app."""
    return stack.publish_and_enable("three_steps.yaml")[1]


def _post_initialize(url: str) -> httpx.Response:
    return httpx.post(url, json=INIT, headers=HEADERS, timeout=10)


@pytest.mark.parametrize("mode", MODES)
async def test_tools_list_shows_the_app_as_one_tool(word_report: str, mode: str) -> None:
    async with Client(word_report, mode=mode) as client:
        tools = (await client.list_tools()).tools
    assert [t.name for t in tools] == ["word_report"]
    tool = tools[0]
    assert tool.title == "Word report"
    assert tool.description.startswith("Cleans up a piece of text")
    assert tool.input_schema["type"] == "object"
    assert set(tool.input_schema["properties"]) == {"text", "label", "repeat"}
    assert tool.input_schema["required"] == ["text"]
    assert tool.input_schema["properties"]["repeat"]["maximum"] == 3
    assert tool.input_schema["properties"]["text"]["maxLength"] == 2000
    assert tool.input_schema["properties"]["label"]["default"] == "report"
    assert set(tool.output_schema["properties"]) == {"words", "report"}
    assert tool.output_schema["properties"]["words"]["type"] == "integer"
    assert tool.annotations is not None
    assert (tool.annotations.read_only_hint, tool.annotations.idempotent_hint) == (True, True)
    assert tool.annotations.open_world_hint is False and tool.annotations.destructive_hint is None


@pytest.mark.parametrize("mode", MODES)
async def test_call_reports_each_step_in_order_then_the_structured_result(word_report: str, mode: str) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with Client(word_report, mode=mode) as client:
        result = await client.call_tool("word_report", {"text": "  Hello BIG world "}, progress_callback=on_progress)

    assert progress == [
        (1, 3, "step 1/3: clean text"),
        (2, 3, "step 2/3: count words"),
        (3, 3, "step 3/3: write report"),
    ]
    assert result.is_error is False
    assert result.structured_content == {"words": 3, "report": "report: 3 words in 'hello big world'"}
    text = result.content[0].text
    assert "words: 3" in text and "report: 3 words" in text


@pytest.mark.parametrize("mode", MODES)
async def test_defaults_fill_missing_optional_arguments(word_report: str, mode: str) -> None:
    async with Client(word_report, mode=mode) as client:
        result = await client.call_tool("word_report", {"text": "a b", "label": "x", "repeat": 3})
    assert result.structured_content["report"] == "x-x-x: 2 words in 'a b'"


@pytest.mark.parametrize("mode", MODES)
async def test_invalid_arguments_return_is_error_naming_each_violation(word_report: str, mode: str) -> None:
    async with Client(word_report, mode=mode) as client:
        result = await client.call_tool("word_report", {"repeat": 9, "label": 5, "colour": "red"})
    assert result.is_error is True
    text = result.content[0].text
    assert "'text' is a required property" in text
    assert "repeat" in text and "3" in text
    assert "label" in text
    assert "colour" in text
    assert "Traceback" not in text


@pytest.mark.parametrize("mode", MODES)
async def test_a_failing_step_returns_is_error_with_an_actionable_message(stack: Stack, mode: str) -> None:
    url = _broken_url(stack)
    async with Client(url, mode=mode) as client:
        result = await client.call_tool("broken_lookup", {"key": "k"})
    assert result.is_error is True
    text = result.content[0].text
    assert "second" in text
    assert "Traceback" not in text and 'File "' not in text


_BROKEN: dict[str, str] = {}


def _broken_url(stack: Stack) -> str:
    if stack.name not in _BROKEN:
        _BROKEN[stack.name] = stack.publish_and_enable("failing.yaml")[1]
    return _BROKEN[stack.name]


@pytest.mark.parametrize("mode", MODES)
async def test_calling_an_unknown_tool_is_a_protocol_error(word_report: str, mode: str) -> None:
    async with Client(word_report, mode=mode) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("no_such_tool", {})
    assert "word_report" in caught.value.message


async def test_regenerate_disable_and_enable_control_the_url(stack: Stack) -> None:
    app_id, first = stack.publish_and_enable("three_steps.yaml")
    async with Client(first, mode="legacy") as client:
        assert (await client.call_tool("word_report", {"text": "one"})).structured_content["words"] == 1

    second = stack.cli("mcp", "regenerate", app_id).stdout.strip()
    assert second != first
    assert _post_initialize(first).status_code == 404
    async with Client(second, mode="2026-07-28") as client:
        assert (await client.call_tool("word_report", {"text": "one two"})).structured_content["words"] == 2

    stack.cli("mcp", "disable", app_id)
    assert _post_initialize(second).status_code == 404

    again = stack.cli("mcp", "enable", app_id).stdout.strip()
    assert again == second
    assert stack.cli("mcp", "url", app_id).stdout.strip() == second
    async with Client(again, mode="legacy") as client:
        assert (await client.call_tool("word_report", {"text": "x y z"})).structured_content["words"] == 3


async def test_unknown_disabled_and_rotated_urls_get_the_same_404(stack: Stack) -> None:
    app_id, url = stack.publish_and_enable("three_steps.yaml")
    stack.cli("mcp", "regenerate", app_id)
    rotated = _post_initialize(url)
    unknown = _post_initialize(stack.base_url + "/mcp/" + "A" * 43)
    new_url = stack.cli("mcp", "url", app_id).stdout.strip()
    stack.cli("mcp", "disable", app_id)
    disabled = _post_initialize(new_url)
    assert rotated.status_code == unknown.status_code == disabled.status_code == 404
    assert rotated.content == unknown.content == disabled.content
