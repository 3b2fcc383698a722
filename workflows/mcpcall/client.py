"""Calling a tool on another MCP server over Streamable HTTP (the ``mcp`` SDK's Client), from sync engine code.

The target passes the same SSRF policy as ``http_request`` (``workflows.http.check_target``), and every
request of the session goes to the checked address (a pinned transport keeps the Host header and TLS
server name), so a DNS answer cannot change between check and connect; the SDK itself follows only
same-origin redirects. The call runs in its own event loop on the calling thread; a watcher polls the
run's cancel and deadline and cancels the call, which the SDK turns into ``notifications/cancelled`` to
the remote server (and closes the stream).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from workflows.errors import NodeFailure
from workflows.http import check_target

__all__ = ["DEPTH_HEADER", "RemoteTool", "Stopped", "ToolOutcome", "call_remote_tool", "list_remote_tools",
           "progress_label"]

DEPTH_HEADER = "X-Toolpress-Call-Depth"  # how many app calls deep the caller already is (loop guard)
_WATCH_INTERVAL = 0.05


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """A tool's answer: ``structured`` content (or None), its text, and whether it reported an error."""

    structured: Any
    text: str
    is_error: bool


@dataclass(frozen=True, slots=True)
class RemoteTool:
    """One tool as the remote server lists it."""

    name: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=dict)


class _Pinned(httpx2.AsyncHTTPTransport):
    """Sends every request to the address the policy checked, keeping the Host header and TLS name."""

    def __init__(self, address: str | None) -> None:
        super().__init__()
        self._address = address

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._address is not None:
            host = request.url.host
            request.headers["Host"] = request.url.netloc.decode("ascii")
            if request.url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": host}
            request.url = request.url.copy_with(host=self._address)
        return await super().handle_async_request(request)


class Stopped(Exception):
    """The watcher ended the call: ``reason`` is "cancelled" or "timeout"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@contextlib.asynccontextmanager
async def _client(url: str, headers: Mapping[str, str], allow: tuple[str, ...],
                  timeout: float) -> AsyncIterator[Client]:
    """An SDK client on a pinned HTTP client (what the SDK's create_mcp_http_client builds, redirects off)."""
    address = check_target(httpx.URL(url), allow)
    async with httpx2.AsyncClient(headers=dict(headers), timeout=httpx2.Timeout(min(timeout, 30.0), read=timeout),
                                  transport=_Pinned(address)) as http:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            yield client


def _text_of(content: list[Any]) -> str:
    return "\n".join(block.text for block in content if isinstance(block, types.TextContent))


def _outcome(result: types.CallToolResult) -> ToolOutcome:
    text = _text_of(result.content)
    structured = result.structured_content
    if structured is None and text and not result.is_error:
        try:
            structured = json.loads(text)
        except ValueError:
            structured = None
    return ToolOutcome(structured=structured, text=text, is_error=bool(result.is_error))


def _leaf(exc: BaseException) -> BaseException:
    """The first exception inside (nested) exception groups from the task groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _failure(exc: BaseException, url: str) -> NodeFailure:
    leaf = _leaf(exc)
    if isinstance(leaf, NodeFailure):
        return leaf
    if isinstance(leaf, MCPError):
        return NodeFailure(f"the MCP server answered with an error: {leaf}")
    if isinstance(leaf, httpx2.HTTPStatusError):
        return NodeFailure(f"the MCP server answered HTTP {leaf.response.status_code}")
    return NodeFailure(f"cannot reach the MCP server at {httpx.URL(url).host}: {type(leaf).__name__}")


async def _watched(work: Callable[[], Any], cancelled: Callable[[], bool], deadline: float) -> Any:
    """Run ``work()`` until it ends, the caller cancels, or the deadline passes (then raise Stopped)."""
    box: dict[str, Any] = {}

    async with anyio.create_task_group() as group:
        async def run() -> None:
            box["value"] = await work()
            group.cancel_scope.cancel()

        async def watch() -> None:
            while True:
                await anyio.sleep(_WATCH_INTERVAL)
                if cancelled():
                    box["stopped"] = "cancelled"
                elif time.monotonic() >= deadline:
                    box["stopped"] = "timeout"
                else:
                    continue
                group.cancel_scope.cancel()
                return

        group.start_soon(run)
        group.start_soon(watch)
    if "stopped" in box:
        raise Stopped(box["stopped"])
    return box.get("value")


def call_remote_tool(url: str, tool: str, arguments: Mapping[str, Any], *, headers: Mapping[str, str],
                     allow: tuple[str, ...], timeout: float, cancelled: Callable[[], bool],
                     on_progress: Callable[[float, float | None, str | None], None]) -> ToolOutcome:
    """Call ``tool`` with ``arguments``; progress goes to ``on_progress``. Raises NodeFailure or Stopped."""
    deadline = time.monotonic() + timeout

    async def work() -> ToolOutcome:
        async with _client(url, headers, allow, timeout) as client:
            async def progress(done: float, total: float | None, message: str | None) -> None:
                on_progress(done, total, message)

            result = await client.call_tool(tool, dict(arguments), progress_callback=progress)
            return _outcome(result)

    try:
        outcome: ToolOutcome = anyio.run(_watched, work, cancelled, deadline)
    except Exception as exc:  # noqa: BLE001 - becomes the step's failure, without the URL's secret parts
        if isinstance(_leaf(exc), Stopped):
            raise _leaf(exc) from None
        raise _failure(exc, url) from None
    return outcome


def list_remote_tools(url: str, *, headers: Mapping[str, str], allow: tuple[str, ...],
                      timeout: float = 15.0) -> list[RemoteTool]:
    """The remote server's tools (name, description, inputSchema), for the console's argument form."""
    deadline = time.monotonic() + timeout

    async def work() -> list[RemoteTool]:
        async with _client(url, headers, allow, timeout) as client:
            listed = await client.list_tools()
            return [RemoteTool(name=t.name, description=t.description or "", input_schema=dict(t.input_schema))
                    for t in listed.tools]

    try:
        tools: list[RemoteTool] = anyio.run(_watched, work, lambda: False, deadline)
    except Stopped:
        raise NodeFailure(f"the MCP server did not list its tools within {timeout:g} s") from None
    except Exception as exc:  # noqa: BLE001
        raise _failure(exc, url) from None
    return tools


def progress_label(done: float, total: float | None, message: str | None) -> str:
    """A remote progress notification as one line: ``3/10 fetching`` (numbers without trailing .0)."""
    def number(value: float) -> str:
        return str(int(value)) if math.isfinite(value) and value == int(value) else f"{value:g}"

    head = number(done) + (f"/{number(total)}" if total is not None else "")
    return f"{head} {message}" if message else head
