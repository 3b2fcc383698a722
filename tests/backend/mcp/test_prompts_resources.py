"""Prompts, resources, completions and change notices through the official SDK client, over two API processes.

Two API processes behind a round-robin balancer and one worker (PostgreSQL + Redis): consecutive requests of one
client reach different processes, templated prompts and resources render as runs on the worker, and a
republish through one process reaches streams held by the other.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from typing import Any

import anyio
import httpx
import pytest
import yaml
from mcp import Client
from mcp_types import PromptReference, ResourceTemplateReference
from mcp.shared.exceptions import MCPError
from support.probe import INIT, MCP_HEADERS
from support.apps import ApiUser
from support.limits import LIMIT_EXCEEDED
from support.proxy import through
from support.streams import read_stream

pytestmark = pytest.mark.anyio

MODES = ["legacy", "auto"]  # auto: the client discovers the server (server/discover) and speaks 2026-07-28
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def library(guide: str = "Write short sentences.", prompt_description: str = "Review a change.",
            name: str | None = None) -> str:
    """YAML of an app with a tool, a templated, a static and a dynamic prompt, resources and a template."""
    return yaml.safe_dump(
        {
            "name": name or f"Library {uuid.uuid4().hex[:8]}",
            "description": "Notes on a topic.",
            "tool_name": "notes",
            "inputs": [{"name": "topic", "type": "string", "required": True, "description": "A topic."}],
            "steps": [{"id": "say", "type": "template", "template": "Notes on {{ inputs.topic | upper }}"}],
            "outputs": [
                {"name": "text", "type": "string", "value": "{{ steps.say.text }}"},
                {"name": "messages", "type": "array",
                 "value": '{{ [{"role": "user", "text": "Tell me about " ~ inputs.topic}, '
                          '{"role": "assistant", "text": "Here are notes on " ~ inputs.topic}] }}'},
                {"name": "suggestions", "type": "array", "value": '{{ [inputs.topic ~ "-one", inputs.topic ~ "-two"] }}'},
            ],
            "prompts": [
                {"name": "review", "title": "Review", "description": prompt_description,
                 "arguments": [
                     {"name": "language", "description": "The language.", "required": True, "values": ["python", "go", "rust"]},
                     {"name": "focus", "suggestions": [f"area{i}" for i in range(150)]},
                 ],
                 "messages": [
                     {"role": "user", "text": "Review this {{ inputs.language }} change for {{ inputs.focus or 'bugs' }}."},
                     {"role": "user", "resource": {"uri": "docs://guide"}},
                     {"role": "assistant", "image": {"uri": "docs://logo"}},
                 ]},
                {"name": "hello", "description": "Says hello.", "messages": [{"text": "Hello."}]},
                {"name": "briefing", "description": "A briefing from the workflow.", "dynamic": True,
                 "arguments": [{"name": "topic", "required": True, "suggestions_from": "suggestions"}]},
            ],
            "resources": [
                {"uri": "docs://guide", "name": "guide", "title": "Style guide", "mime_type": "text/markdown", "text": guide},
                {"uri": "docs://logo", "name": "logo", "mime_type": "image/png", "blob": PNG},
            ],
            "resource_templates": [
                {"uri_template": "notes://{topic}", "name": "notes", "mime_type": "text/plain", "output": "text",
                 "completions": {"topic": ["release", "recipes", "onboarding"]}},
            ],
        },
        sort_keys=False,
    )


def _publish(owner: ApiUser, via: str, spec: str) -> tuple[int, str]:
    """Publish through the balancer; return (app id, MCP URL through the balancer)."""
    app_id, url = owner.publish(spec)
    return app_id, through(url, via)


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_lists_gets_reads_and_completes_through_two_processes(balanced, mode: str) -> None:
    _, via, balancer = balanced
    owner = ApiUser(via)
    app_id, url = _publish(owner, via, library())
    before = list(balancer.counts)
    async with Client(url, mode=mode) as client:
        assert client.protocol_version == ("2026-07-28" if mode == "auto" else client.protocol_version)
        capabilities = client.server_capabilities
        assert capabilities.prompts is not None and capabilities.resources is not None
        assert capabilities.completions is not None

        prompts = (await client.list_prompts()).prompts
        assert [p.name for p in prompts] == ["review", "hello", "briefing"]
        assert [(a.name, a.required) for a in prompts[0].arguments or []] == [("language", True), ("focus", False)]

        review = await client.get_prompt("review", {"language": "go"})
        text, guide, logo = (m.content for m in review.messages)
        assert text.text == "Review this go change for bugs."
        assert guide.resource.text == "Write short sentences." and guide.resource.mime_type == "text/markdown"
        assert logo.type == "image" and logo.data == PNG and review.messages[2].role == "assistant"
        assert (await client.get_prompt("hello")).messages[0].content.text == "Hello."
        briefing = await client.get_prompt("briefing", {"topic": "tides"})
        assert [(m.role, m.content.text) for m in briefing.messages] == [
            ("user", "Tell me about tides"), ("assistant", "Here are notes on tides"),
        ]
        with pytest.raises(MCPError, match="must be one of python, go, rust"):
            await client.get_prompt("review", {"language": "cobol"})
        with pytest.raises(MCPError, match="missing required argument 'language'"):
            await client.get_prompt("review", {})

        resources = (await client.list_resources()).resources
        assert [(str(r.uri), r.mime_type, r.size) for r in resources] == [
            ("docs://guide", "text/markdown", 22), ("docs://logo", "image/png", 70),
        ]
        assert (await client.read_resource("docs://guide")).contents[0].text == "Write short sentences."
        assert (await client.read_resource("docs://logo")).contents[0].blob == PNG
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["notes://{topic}"]
        notes = (await client.read_resource("notes://tides")).contents[0]
        assert (str(notes.uri), notes.text, notes.mime_type) == ("notes://tides", "Notes on TIDES", "text/plain")
        with pytest.raises(MCPError, match="resource not found"):
            await client.read_resource("other://nothing")

        languages = await client.complete(PromptReference(name="review"), {"name": "language", "value": "r"})
        assert languages.completion.values == ["rust"] and languages.completion.has_more is False
        many = await client.complete(PromptReference(name="review"), {"name": "focus", "value": "AREA"})
        assert len(many.completion.values) == 100 and many.completion.total == 150 and many.completion.has_more
        topics = await client.complete(ResourceTemplateReference(uri="notes://{topic}"), {"name": "topic", "value": "re"})
        assert topics.completion.values == ["release", "recipes"]
        suggested = await client.complete(PromptReference(name="briefing"), {"name": "topic", "value": "ti"})
        assert suggested.completion.values == ["ti-one", "ti-two"] and suggested.completion.total == 2
    served = [after - start for after, start in zip(balancer.counts, before, strict=True)]
    assert all(n >= 3 for n in served), served  # both processes answered part of the conversation

    purposes = [run["purpose"] for run in owner.runs(app_id)]
    # the templated and dynamic prompts, the templated resource and the suggestions were runs; static ones were not
    assert sorted(purposes) == ["completion:topic", "prompt:briefing", "prompt:review", "resource:notes://tides"]


async def test_a_tools_only_app_declares_no_prompts_resources_or_completions(balanced) -> None:
    _, via, _ = balanced
    spec = yaml.safe_load(library())
    for key in ("prompts", "resources", "resource_templates"):
        spec.pop(key)
    _, url = _publish(ApiUser(via), via, yaml.safe_dump(spec))
    for mode in MODES:
        async with Client(url, mode=mode) as client:
            capabilities = client.server_capabilities
            assert capabilities.tools is not None
            assert capabilities.prompts is None and capabilities.resources is None and capabilities.completions is None


def _next_messages(received: queue.Queue, count: int) -> list[dict[str, Any]]:
    messages = []
    deadline = time.monotonic() + 15
    while len(messages) < count:
        kind, message = received.get(timeout=max(0.1, deadline - time.monotonic()))
        assert kind == "message"
        messages.append(message)
    return messages


async def test_a_handshake_session_hears_of_list_changes_and_its_subscribed_resources(balanced) -> None:
    _, via, _ = balanced
    owner = ApiUser(via)
    name = f"Library {uuid.uuid4().hex[:8]}"
    app_id, url = _publish(owner, via, library(name=name))
    # initialize, then subscribe in the session: each request may reach either process
    init = httpx.post(url, json=INIT, headers=MCP_HEADERS, timeout=10)
    session = {"mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    for uri in ("docs://guide", "docs://logo", "notes://tides"):
        subscribe = {"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe", "params": {"uri": uri}}
        assert httpx.post(url, json=subscribe, headers={**MCP_HEADERS, **session}, timeout=10).status_code == 200
    unsubscribe = {"jsonrpc": "2.0", "id": 3, "method": "resources/unsubscribe", "params": {"uri": "docs://logo"}}
    assert httpx.post(url, json=unsubscribe, headers={**MCP_HEADERS, **session}, timeout=10).status_code == 200

    received: queue.Queue = queue.Queue()
    stop = threading.Event()
    get_headers = {"Accept": "text/event-stream", **session}
    threading.Thread(target=read_stream, args=(url, get_headers, received, stop), daemon=True).start()
    assert received.get(timeout=10) == ("status", 200)
    try:
        # the guide's text and the prompt's description change; the logo (unsubscribed) does not
        owner.republish(app_id, library(guide="Write shorter sentences.", prompt_description="Review a diff.", name=name))
        messages = _next_messages(received, 3)
    finally:
        stop.set()
    assert {"jsonrpc": "2.0", "method": "notifications/prompts/list_changed"} in messages
    updated = sorted(m["params"]["uri"] for m in messages if m["method"] == "notifications/resources/updated")
    # the template's app has a new version, so a read of notes://tides may differ too
    assert updated == ["docs://guide", "notes://tides"]
    assert all(m["method"] != "notifications/tools/list_changed" for m in messages)  # the tool is the same


async def test_a_listen_stream_hears_of_prompt_and_resource_changes(balanced) -> None:
    from mcp.client.subscriptions import PromptsListChanged, ResourcesListChanged, ResourceUpdated

    _, via, _ = balanced
    owner = ApiUser(via)
    name = f"Library {uuid.uuid4().hex[:8]}"
    app_id, url = _publish(owner, via, library(name=name))
    async with Client(url, mode="auto") as client:
        async with client.listen(
            prompts_list_changed=True, resources_list_changed=True, resource_subscriptions=["docs://guide"]
        ) as subscription:
            assert subscription.honored.prompts_list_changed is True
            assert subscription.honored.resource_subscriptions == ["docs://guide"]
            events = aiter(subscription)
            owner.republish(app_id, library(guide="Another guide.", prompt_description="Review a diff.", name=name))
            with anyio.fail_after(15):
                seen = {await anext(events), await anext(events)}
            assert seen == {PromptsListChanged(), ResourceUpdated(uri="docs://guide")}
            # a new resource changes the list
            spec = yaml.safe_load(library(guide="Another guide.", prompt_description="Review a diff.", name=name))
            spec["resources"].append({"uri": "docs://more", "name": "more", "text": "More."})
            owner.republish(app_id, yaml.safe_dump(spec))
            with anyio.fail_after(15):
                assert await anext(events) == ResourcesListChanged()
        assert (await client.read_resource("docs://more")).contents[0].text == "More."


async def test_a_legacy_sse_client_gets_prompts_and_resources_through_either_process(balanced) -> None:
    from mcp.client.session import ClientSession
    from mcp.client.sse import sse_client

    _, via, _ = balanced
    _, url = _publish(ApiUser(via), via, library())
    async with sse_client(url.removesuffix("/mcp") + "/sse") as (read, write), ClientSession(read, write) as session:
        initialized = await session.initialize()
        assert initialized.capabilities.prompts is not None and initialized.capabilities.resources is not None
        review = await session.get_prompt("review", {"language": "rust", "focus": "lifetimes"})
        guide = await session.read_resource("docs://guide")
    assert review.messages[0].content.text == "Review this rust change for lifetimes."
    assert guide.contents[0].text == "Write short sentences."


async def test_prompt_and_resource_runs_count_against_the_urls_rate_limit(balanced) -> None:
    _, via, _ = balanced
    owner = ApiUser(via)
    app_id, url = _publish(owner, via, library())
    limits = {"calls_per_minute": 2, "max_concurrent_runs": None}
    assert owner.api.put(f"/api/apps/{app_id}/mcp/limits", json=limits, headers=owner.headers).status_code == 200
    async with Client(url, mode="legacy") as client:
        await client.get_prompt("review", {"language": "go"})
        await client.read_resource("notes://tides")
        assert (await client.get_prompt("hello")).messages  # no run: not a call
        with pytest.raises(MCPError, match="rate limit reached") as refused:
            await client.get_prompt("briefing", {"topic": "x"})
    assert refused.value.code == LIMIT_EXCEEDED
    assert len(owner.runs(app_id)) == 2  # nothing was queued for the refused one
