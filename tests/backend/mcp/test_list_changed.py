"""`notifications/tools/list_changed` on open GET streams when the app is republished with a different tool."""

from __future__ import annotations

import queue
import threading
import time

import anyio
import httpx
import pytest
import yaml
from mcp import Client
from support.apps import published_app
from support.stack import FIXTURES, Stack
from support.streams import read_stream

pytestmark = pytest.mark.anyio

SSE = {"Accept": "text/event-stream", "mcp-protocol-version": "2025-11-25"}


def _spec(description: str, template: str = "{{ inputs.text | trim | lower }}") -> str:
    doc = yaml.safe_load((FIXTURES / "three_steps.yaml").read_text())
    doc["description"] = description
    doc["steps"][0]["template"] = template
    return yaml.safe_dump(doc, sort_keys=False)


async def test_republishing_a_different_tool_notifies_open_streams(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, _spec("Counts words."))
        async with Client(url, mode="legacy") as client:  # the capability is advertised
            assert client.server_capabilities.tools is not None
            assert client.server_capabilities.tools.list_changed is True

        received: queue.Queue = queue.Queue()
        stop = threading.Event()
        reader = threading.Thread(target=read_stream, args=(url, SSE, received, stop), daemon=True)
        reader.start()
        assert received.get(timeout=10) == ("status", 200)
        time.sleep(2.5)  # the watcher has seen the tool as it is now

        async def republish(spec: str) -> None:
            assert (await api.patch(f"/api/apps/{app_id}", json={"yaml": spec}, headers=headers)).status_code == 200
            assert (await api.post(f"/api/apps/{app_id}/publish", headers=headers)).status_code == 201

        # a new version whose tool looks the same to a client: nothing to tell
        await republish(_spec("Counts words.", template="{{ inputs.text | trim | lower }} "))
        time.sleep(2.5)
        assert received.empty()

        # a new description: clients are told to list again
        await republish(_spec("Counts the words of a text and writes a report."))
        kind, message = received.get(timeout=10)
        assert kind == "message" and message == {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}
        stop.set()

    async with Client(url, mode="legacy") as client:
        tools = await client.list_tools()
        assert tools.tools[0].description == "Counts the words of a text and writes a report."


async def test_a_listen_stream_hears_of_a_changed_tool_and_ends_when_the_url_dies(stack: Stack) -> None:
    from mcp.client.subscriptions import ToolsListChanged

    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
        app_id, url, headers = await published_app(api, _spec("Counts words."))
        async with Client(url, mode="auto") as client:  # discovers the server: 2026-07-28 and its capabilities
            capabilities = client.server_capabilities
            assert capabilities.tools is not None and capabilities.tools.list_changed
            assert capabilities.extensions is not None and "io.modelcontextprotocol/tasks" in capabilities.extensions
            async with client.listen(tools_list_changed=True, prompts_list_changed=True) as subscription:
                assert subscription.honored.tools_list_changed is True
                assert not subscription.honored.prompts_list_changed  # the only list that changes is the tools
                events = aiter(subscription)
                await anyio.sleep(2.5)  # the watcher has seen the tool as it is now
                await api.patch(f"/api/apps/{app_id}", json={"yaml": _spec("Counts every word.")}, headers=headers)
                await api.post(f"/api/apps/{app_id}/publish", headers=headers)
                with anyio.fail_after(10):
                    assert isinstance(await anext(events), ToolsListChanged)
                # disabling the URL ends the stream gracefully
                await api.post(f"/api/apps/{app_id}/mcp/disable", headers=headers)
                with anyio.fail_after(10):
                    rest = [event async for event in events]
                assert rest == []
