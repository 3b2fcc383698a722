"""An app whose mcp_tool step calls another Toolpress app through its MCP URL, on a live embedded stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from support.apps import published_app
from support.stack import Stack, running, start_embedded

pytestmark = pytest.mark.anyio

WORD_REPORT = (Path(__file__).resolve().parents[2] / "fixtures" / "three_steps.yaml").read_text()


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running(start_embedded(tmp_path_factory.mktemp("mcp-tool"), worker_concurrency="3")) as started:
        yield started


def _caller(url: str) -> str:
    return yaml.safe_dump({
        "name": "Caller", "tool_name": "caller", "description": "Calls the word report app over MCP.",
        "inputs": [{"name": "text", "type": "string", "required": True}],
        "steps": [{"id": "remote", "type": "mcp_tool", "title": "ask the word report", "url": url,
                   "tool": "word_report", "arguments": {"text": "{{ inputs.text }}", "label": "via mcp"}}],
        "outputs": [{"name": "report", "type": "string", "value": "{{ steps.remote.result.report }}"},
                    {"name": "words", "type": "integer", "value": "{{ steps.remote.result.words }}"}],
    }, sort_keys=False)


async def test_an_app_calls_another_toolpress_app_and_its_progress_comes_through(embedded: Stack) -> None:
    async with httpx.AsyncClient(base_url=embedded.base_url, timeout=30) as api:
        _, callee_url, _ = await published_app(api, WORD_REPORT)
        _, caller_url, _ = await published_app(api, _caller(callee_url))
    messages: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with Client(caller_url, mode="legacy") as client:
        result = await client.call_tool("caller", {"text": "  Hello Big World "}, progress_callback=on_progress)
    assert result.is_error is False, result
    assert result.structured_content == {"report": "via mcp: 3 words in 'hello big world'", "words": 3}
    remote = [m for m in messages if "word_report" in m]
    assert remote and "word_report 1/3" in remote[0]  # the called app's steps, forwarded
    assert messages[-1].endswith("ask the word report")


async def test_a_call_already_five_apps_deep_is_refused(embedded: Stack) -> None:
    async with httpx.AsyncClient(base_url=embedded.base_url, timeout=30) as api:
        _, url, _ = await published_app(api, WORD_REPORT)
    for depth, refused in (("4", False), ("5", True)):
        async with httpx2.AsyncClient(headers={"X-Toolpress-Call-Depth": depth}, timeout=30) as http:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                result = await client.call_tool("word_report", {"text": "a b"})
        assert result.is_error is refused, result
        if refused:
            assert "apps may nest at most 5 calls deep" in result.content[0].text
