"""A real MCP server (the SDK's MCPServer over Streamable HTTP, served by uvicorn in a thread) for mcp_tool tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel

TOKEN = "remote-bearer-token-5e2a"


class Sum(BaseModel):
    """The add tool's structured result."""

    total: int


@dataclass
class Remote:
    """The running server: its URL, its allow-list entry, and what its tools saw."""

    url: str
    allow: list[str]
    headers: list[dict[str, str]] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server(remote: Remote) -> MCPServer:
    server = MCPServer("remote-test")

    def seen(ctx: Context) -> None:
        request: Any = ctx.request_context.request
        remote.headers.append({k.lower(): v for k, v in request.headers.items()} if request is not None else {})

    @server.tool(description="Add two integers.")
    async def add(a: int, b: int, ctx: Context) -> Sum:
        seen(ctx)
        return Sum(total=a + b)

    @server.tool(description="Say something as plain text.")
    async def echo(text: str, ctx: Context) -> str:
        seen(ctx)
        return f"echo: {text}"

    @server.tool(description="Count to n, reporting progress at each number.")
    async def count(n: int, ctx: Context) -> Sum:
        seen(ctx)
        for i in range(1, n + 1):
            await ctx.report_progress(i, n, f"at {i}")
        return Sum(total=n)

    @server.tool(description="Fail on purpose.")
    async def broken(ctx: Context) -> str:
        seen(ctx)
        raise ToolError("the remote tool broke")

    @server.tool(description="Wait until cancelled.")
    async def wait(ctx: Context) -> str:
        seen(ctx)
        remote.started.set()
        try:
            await anyio.sleep(120)
        except anyio.get_cancelled_exc_class():
            remote.cancelled.set()
            raise
        return "never"

    return server


@contextmanager
def remote_mcp_server() -> Iterator[Remote]:
    """Start the server on a free loopback port; stop it afterwards."""
    port = _free_port()
    remote = Remote(url=f"http://127.0.0.1:{port}/mcp", allow=[f"127.0.0.1:{port}"])
    app = _server(remote).streamable_http_app(
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="remote-mcp", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the remote MCP server did not start")
        time.sleep(0.02)
    try:
        yield remote
    finally:
        server.should_exit = True
        thread.join(10)
