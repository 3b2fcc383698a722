"""Toolpress backend: settings, data, services and the HTTP, MCP, worker and CLI adapters."""
