"""Calls that hold a concurrency slot while a test looks at the limits, then let it go."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio
from mcp import Client
from mcp.shared.exceptions import MCPError

LIMIT_EXCEEDED = -32029


@contextlib.asynccontextmanager
async def running_call(client: Client, tool: str) -> AsyncIterator[None]:
    """A call of `tool` that has started running (its first progress arrived); dropped on exit.

    A call refused at once raises its MCPError here.
    """
    started = anyio.Event()
    refused: list[MCPError] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        started.set()

    async def call() -> None:
        try:
            await client.call_tool(tool, {}, progress_callback=on_progress)
        except MCPError as exc:
            refused.append(exc)
            started.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        with anyio.fail_after(60):
            await started.wait()
        if refused:
            tg.cancel_scope.cancel()
        else:
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
    if refused:
        raise refused[0]


async def admitted_within(client: Client, tool: str, seconds: float) -> bool:
    """Whether a call of `tool` is admitted (starts running) within `seconds`; refusals are retried."""
    with anyio.move_on_after(seconds):
        while True:
            try:
                async with running_call(client, tool):
                    return True
            except MCPError as exc:
                if exc.code != LIMIT_EXCEEDED:
                    raise
                await anyio.sleep(0.2)
    return False
