"""The ``mcp_tool`` node: call a tool of another MCP server (Streamable HTTP) and use its answer."""

from __future__ import annotations

import builtins
import threading
import time
from typing import Any, ClassVar, Literal

from pydantic import Field

from workflows.errors import NodeFailure, RunCancelled
from workflows.nodes.base import Node, NodeConfig, NodeContext
from workflows.nodes.sub_app import MAX_DEPTH

__all__ = ["McpToolConfig", "McpToolNode"]

MAX_FORWARDED = 100  # remote progress notifications forwarded per step (the rest are dropped)


class McpToolConfig(NodeConfig):
    """Fields of an mcp_tool step: the server's URL, the tool, its arguments (templatable) and auth headers."""

    url: str = Field(min_length=1, description="The MCP server's Streamable HTTP endpoint.")
    tool: str = Field(min_length=1, max_length=128, description="The tool's name on that server.")
    arguments: dict[str, Any] = Field(default_factory=dict, description="Argument name → value (templatable).")
    headers: dict[str, str] = Field(default_factory=dict,
                                    description='Auth, e.g. Authorization: "Bearer {{ secrets.TOKEN }}".')
    timeout: float = Field(default=60.0, gt=0, le=3600, description="Seconds the call may take.")
    on_error: Literal["fail", "continue"] = Field(
        default="fail", description="When the tool answers isError: fail the step, or continue with is_error true.")


class McpToolNode(Node[McpToolConfig]):
    """Use another MCP server's tool as a step.

    The URL passes the same network policy as ``http_request`` (private addresses refused unless
    allow-listed; the connection pinned to the checked address). Arguments are templates; auth comes from
    the owner's secrets through ``headers``. The remote tool's progress notifications are forwarded as this
    run's progress, a cancel of the run cancels the remote call, and a call from one Toolpress app to
    another carries its depth so that a loop of apps stops at ``MAX_DEPTH``, like ``sub_app``. Result:
    ``result`` (the tool's ``structuredContent``, else its text parsed as JSON when it is JSON), ``text``
    and ``is_error``; an ``isError`` answer fails the step unless ``on_error: continue``.
    """

    type: ClassVar[str] = "mcp_tool"
    description: ClassVar[str] = "Call a tool on another MCP server (progress, cancel; private addresses refused)."
    Config: ClassVar[builtins.type[NodeConfig]] = McpToolConfig
    resolved_fields: ClassVar[tuple[str, ...]] = ("url", "arguments", "headers")
    result_fields: ClassVar[tuple[str, ...] | None] = ("result", "text", "is_error")
    expected_types: ClassVar[dict[str, tuple[str, ...]]] = {"url": ("string", "text")}
    secret_sinks: ClassVar[tuple[str, ...]] = ("url", "headers")
    secret_destination: ClassVar[str | None] = "url"

    def run(self, config: McpToolConfig, ctx: NodeContext) -> dict[str, Any]:
        """Call the tool; forward its progress; map isError to a failure or ``is_error``."""
        # the MCP client (and the SDK under it) is loaded when a step first calls a server, not with the engine
        from workflows.mcpcall import DEPTH_HEADER, Stopped, call_remote_tool, progress_label  # noqa: PLC0415

        depth = len(tuple(ctx.service("call_stack") or ()))
        if depth >= MAX_DEPTH:
            raise NodeFailure(f"apps may nest at most {MAX_DEPTH} calls deep")
        headers = {**{str(k): str(v) for k, v in config.headers.items()}, DEPTH_HEADER: str(depth)}
        forwarded = 0
        lock = threading.Lock()

        def progress(done: float, total: float | None, message: str | None) -> None:
            nonlocal forwarded
            with lock:
                if forwarded >= MAX_FORWARDED:
                    return
                forwarded += 1
            ctx.grow_total(1)
            ctx.report(f"{config.tool} {progress_label(done, total, message)}")

        deadline = config.timeout
        if ctx.deadline is not None:
            deadline = min(deadline, max(0.001, ctx.deadline - time.monotonic()))
        try:
            outcome = call_remote_tool(str(config.url), config.tool, config.arguments, headers=headers,
                                       allow=tuple(ctx.service("http_allow") or ()), timeout=deadline,
                                       cancelled=ctx.cancelled, on_progress=progress)
        except Stopped as stopped:
            if stopped.reason == "cancelled":
                raise RunCancelled(f"run cancelled while calling the tool '{config.tool}'") from None
            raise NodeFailure(f"the tool '{config.tool}' took longer than {deadline:g} s") from None
        if outcome.is_error and config.on_error == "fail":
            raise NodeFailure(f"the tool '{config.tool}' reported an error: {outcome.text[:500] or '(no text)'}")
        return {"result": outcome.structured, "text": outcome.text, "is_error": outcome.is_error}
