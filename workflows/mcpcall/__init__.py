"""Calling tools of other MCP servers (Streamable HTTP) for the ``mcp_tool`` step, under the HTTP network policy."""

from workflows.mcpcall.client import (
    DEPTH_HEADER,
    RemoteTool,
    Stopped,
    ToolOutcome,
    call_remote_tool,
    list_remote_tools,
    progress_label,
)

__all__ = ["DEPTH_HEADER", "RemoteTool", "Stopped", "ToolOutcome", "call_remote_tool", "list_remote_tools",
           "progress_label"]
