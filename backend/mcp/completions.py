"""completion/complete for prompt arguments and resource template variables.

Suggestions come from the spec: a prompt argument's `values` (its closed list) or `suggestions`, a
template's `completions` per variable. The values that start with what the user typed (ignoring case) are
offered, at most MAX_SUGGESTIONS of them, with the total and `hasMore` when there are more.
"""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from backend.mcp.handlers import target_of
from backend.services.catalog import Catalog, catalog_of
from workflows.prompts import MAX_SUGGESTIONS

__all__ = ["build_completion_handlers", "candidates", "complete"]


def candidates(catalog: Catalog, params: types.CompleteRequestParams) -> list[str]:
    """Every value the spec offers for the argument named in `params`; an MCP error for an unknown reference."""
    ref, name = params.ref, params.argument.name
    if isinstance(ref, types.PromptReference):
        served = catalog.prompts.get(ref.name)
        if served is None:
            raise MCPError(types.INVALID_PARAMS, f"unknown prompt {ref.name[:100]!r}")
        argument = next((a for a in served.prompt.arguments if a.name == name), None)
        if argument is None:
            raise MCPError(types.INVALID_PARAMS, f"prompt {ref.name[:100]!r} has no argument {name[:100]!r}")
        return list(argument.values or argument.suggestions or [])
    template = next((t for t in catalog.templates if t.template.uri_template == ref.uri), None)
    if template is None:
        raise MCPError(types.INVALID_PARAMS, f"unknown resource template {ref.uri[:200]!r}")
    return list(template.template.completions.get(name, []))


def complete(values: list[str], typed: str) -> types.Completion:
    """The values starting with `typed` (ignoring case), capped at MAX_SUGGESTIONS."""
    prefix = typed.casefold()
    matching = [value for value in dict.fromkeys(values) if value.casefold().startswith(prefix)]
    shown = matching[:MAX_SUGGESTIONS]
    return types.Completion(values=shown, total=len(matching), has_more=len(matching) > len(shown))


def build_completion_handlers() -> dict[str, Any]:
    """The `on_completion` handler."""

    async def on_completion(
        ctx: ServerRequestContext[Any, Any], params: types.CompleteRequestParams
    ) -> types.CompleteResult:
        catalog = await anyio.to_thread.run_sync(catalog_of, target_of(ctx))
        return types.CompleteResult(completion=complete(candidates(catalog, params), params.argument.value))

    return {"on_completion": on_completion}
