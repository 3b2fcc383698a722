"""Reading a server-sent events stream of an MCP URL from a test thread."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import AsyncIterator

import anyio
import httpx


def read_stream(url: str, headers: dict[str, str], into: queue.Queue, stop: threading.Event) -> None:
    """Read a GET stream (run it in a thread): put ("status", code), then ("message", JSON-RPC message) per event."""
    with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(10, read=60)) as response:
        into.put(("status", response.status_code))
        for line in response.iter_lines():
            if line.startswith("data:"):
                into.put(("message", json.loads(line[5:])))
            if stop.is_set():
                return


POST_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


async def open_session(api: httpx.AsyncClient, mcp_url: str, version: str = "2025-11-25") -> dict[str, str]:
    """Initialize a handshake session over raw HTTP; return the headers of its later requests."""
    init = await api.post(mcp_url, headers=POST_HEADERS, json={
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    })
    session = {**POST_HEADERS, "mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": version}
    await api.post(mcp_url, headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    return session


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str | None, str | None, dict | None]]:
    """The events of an SSE response as (id, retry, JSON message or None for an empty event); comments skipped."""
    fields: dict[str, list[str]] = {}
    async for line in response.aiter_lines():
        if line:
            name, _, value = line.partition(":")
            if name:  # a line starting with ":" is a comment
                fields.setdefault(name, []).append(value.removeprefix(" "))
            continue
        if fields:
            data = "\n".join(fields.get("data", []))
            yield (fields.get("id", [None])[-1], fields.get("retry", [None])[-1], json.loads(data) if data else None)
        fields = {}


async def leave_after_the_first_message(api: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict) -> None:
    """POST `body` and read its SSE response up to the first message (not the priming event), then go away."""
    async with api.stream("POST", url, headers=headers, json=body) as stream:
        with anyio.fail_after(60):
            async for _, _, message in sse_events(stream):
                if message is not None:
                    return
