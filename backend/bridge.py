"""A local stdio MCP server that relays to a remote Toolpress MCP endpoint (for clients that only speak stdio).

One upstream connection over Streamable HTTP (the `mcp` SDK's Client) serves the whole stdio session:
tools/list is passed through, and tools/call is forwarded with a progress callback that re-emits each
upstream `notifications/progress` on the stdio side, so a stdio client sees the same step-by-step progress.
With a token (`TOOLPRESS_MCP_TOKEN` for `toolpress mcp stdio`), every upstream request carries
`Authorization: Bearer <token>`, for the token URLs (`…/mcp/e/{id}/mcp`, `…/mcp/t/{id}/mcp`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlsplit

import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

__all__ = ["serve_stdio_bridge"]


def _masked(url: str) -> str:
    head, sep, _tail = url.partition("/mcp/")
    return f"{head}/mcp/…" if sep else url


def _leaves(error: BaseException) -> Iterator[BaseException]:
    """The exceptions inside (nested) exception groups, which the SDK's task groups wrap failures in."""
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error` and what it was raised from, innermost last."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def why_unreachable(error: BaseException, url: str) -> str:
    """Why the upstream endpoint could not be used, in words (`connection refused on 127.0.0.1:8000`).

    The SDK's HTTP client is its own fork of httpx, so its errors are told apart by name and by what they wrap.
    """
    parts = urlsplit(url)
    address = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    leaves = list(_leaves(error))
    for leaf in leaves:
        causes = list(_causes(leaf))
        if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
            return f"connection refused on {address}"
        if isinstance(leaf, MCPError):
            return f"{address} answered: {leaf.message} (the URL is unknown, off or was regenerated)"
        response = getattr(leaf, "response", None)
        if type(leaf).__name__ == "HTTPStatusError" and response is not None:
            return f"{address} answered HTTP {response.status_code}"
        if type(leaf).__name__ in ("ConnectError", "ConnectTimeout") or isinstance(leaf, OSError):
            return f"cannot reach {address} ({leaf})"
        if isinstance(leaf, TimeoutError) or type(leaf).__name__.endswith("Timeout"):
            return f"{address} did not answer in time"
    return type(leaves[0]).__name__ if leaves else type(error).__name__


async def serve_stdio_bridge(url: str, token: str | None = None) -> int:
    """Serve the remote endpoint at `url` (with a bearer `token`, if given) on stdin/stdout until stdin closes."""
    async with AsyncExitStack() as stack:
        try:
            if token:
                http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
                upstream = await stack.enter_async_context(Client(streamable_http_client(url, http_client=http)))
            else:
                upstream = await stack.enter_async_context(Client(url))
        except Exception as exc:  # unreachable, off or regenerated: say so on stderr, never with the secret
            print(f"error: cannot connect to {_masked(url)} ({why_unreachable(exc, url)}); is the server running, "
                  "its MCP server on and the URL current?", file=sys.stderr)
            return 1

        async def on_list_tools(ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
            return await upstream.list_tools()

        async def on_call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
            async def relay(done: float, total: float | None, message: str | None) -> None:
                await ctx.session.report_progress(done, total, message)

            try:
                return await upstream.call_tool(params.name, params.arguments, progress_callback=relay)
            except MCPError:
                raise
            except Exception as exc:
                text = f"The remote Toolpress endpoint could not be reached ({type(exc).__name__}); try again."
                return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)

        server: Server[Any] = Server("toolpress-bridge", on_list_tools=on_list_tools, on_call_tool=on_call_tool)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
    return 0
