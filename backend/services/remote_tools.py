"""Listing the tools of another MCP server for the editor's mcp_tool step (same network policy as runs)."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session

import httpx

from backend.core.settings import Settings
from backend.services.errors import ServiceError
from backend.services.secrets import secret_values
from workflows.errors import NodeFailure
from workflows.mcpcall import list_remote_tools

__all__ = ["RemoteToolsUnavailable", "remote_tools"]

# A header value may name one of the owner's secrets the way a step does; nothing else is rendered here.
_SECRET = re.compile(r"\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class RemoteToolsUnavailable(ServiceError):
    """The server could not be asked (refused address, unreachable, not MCP, a missing secret)."""


def _filled(value: str, secrets: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in secrets:
            raise RemoteToolsUnavailable(f"you have no secret named {name}")
        return secrets[name]

    filled = _SECRET.sub(one, value)
    if "{{" in filled or "{%" in filled:
        raise RemoteToolsUnavailable("only {{ secrets.NAME }} can be filled in here; use a plain URL and headers")
    return filled


def remote_tools(*, session: Session, settings: Settings, owner_id: int, url: str,
                 headers: dict[str, str]) -> list[dict[str, Any]]:
    """The server's tools as ``{name, description, inputSchema}``; secrets in headers come from the owner's."""
    if "{{" in url or "{%" in url:
        raise RemoteToolsUnavailable("enter the server's URL itself (not a template) to list its tools")
    needed = any(_SECRET.search(v) for v in headers.values())
    secrets = secret_values(session=session, settings=settings, owner_id=owner_id) if needed else {}
    filled = {str(k): _filled(str(v), secrets) for k, v in headers.items()}
    try:
        tools = list_remote_tools(url, headers=filled, allow=tuple(settings.http_allow))
    except NodeFailure as exc:
        raise RemoteToolsUnavailable(str(exc.reason)) from None
    except (httpx.InvalidURL, ValueError):
        raise RemoteToolsUnavailable("that is not a valid URL") from None
    return [{"name": t.name, "description": t.description, "inputSchema": t.input_schema} for t in tools]
