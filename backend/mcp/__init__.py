"""The MCP endpoint that serves published apps as tools."""

from backend.mcp.endpoint import McpEndpointApp

__all__ = ["McpEndpointApp"]
