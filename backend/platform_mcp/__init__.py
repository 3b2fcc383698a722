"""Toolpress's own MCP server: an agent manages a user's apps through it (HTTP at /mcp/platform, or stdio)."""

from backend.platform_mcp.http import PATHS, READ_ONLY_HEADER, PlatformMcpApp
from backend.platform_mcp.server import Caller, build_server
from backend.platform_mcp.stdio import serve_stdio
from backend.platform_mcp.tools import TOOLS

__all__ = ["PATHS", "READ_ONLY_HEADER", "TOOLS", "Caller", "PlatformMcpApp", "build_server", "serve_stdio"]
