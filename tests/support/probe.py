"""A bare MCP `initialize` request, for tests that only look at how the HTTP layer answers (status, headers)."""

from __future__ import annotations

import httpx

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def initialize(url: str, token: str | None = None) -> httpx.Response:
    """POST `initialize` to an MCP URL, with `Authorization: Bearer <token>` when a token is given."""
    headers = {**MCP_HEADERS, **({"Authorization": f"Bearer {token}"} if token else {})}
    return httpx.post(url, json=INIT, headers=headers, timeout=10)
