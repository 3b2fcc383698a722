"""prompts/list and prompts/get: the prompts of the app (or toolkit) a URL serves.

A prompt without templates is answered as written. One with templated messages is rendered by a run of its
derived spec on a worker (the template sandbox and limits of any step); a dynamic prompt runs the app's
workflow. Either run is recorded like a tool call, with the purpose `prompt:<name>`.
"""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from backend.core.settings import Settings
from backend.mcp.handlers import target_of
from backend.mcp.runs import run_for_request
from backend.services import prompts
from backend.services.catalog import catalog_of
from backend.services.purposes import prompt_purpose

__all__ = ["build_prompt_handlers"]


def build_prompt_handlers(settings: Settings) -> dict[str, Any]:
    """The `on_list_prompts` and `on_get_prompt` handlers."""

    async def on_list_prompts(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        catalog = await anyio.to_thread.run_sync(catalog_of, target_of(ctx))
        return types.ListPromptsResult.model_validate({"prompts": catalog.listing()["prompts"]})

    async def on_get_prompt(
        ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        target = target_of(ctx)
        catalog = await anyio.to_thread.run_sync(catalog_of, target)
        served = catalog.prompts.get(params.name)
        if served is None:
            offered = ", ".join(repr(name) for name in list(catalog.prompts)[:20]) or "no prompts"
            raise MCPError(types.INVALID_PARAMS, f"unknown prompt {params.name[:100]!r}; this server offers {offered}")
        prompt, what = served.prompt, f"prompt '{served.prompt.name}'"
        try:
            inputs = prompts.run_inputs(served.spec, prompt, prompts.check_arguments(prompt, params.arguments))
        except prompts.InvalidPromptArguments as exc:
            raise MCPError(types.INVALID_PARAMS, str(exc)) from None
        outputs: dict[str, Any] = {}
        if prompts.needs_run(prompt):
            outputs = await run_for_request(settings, ctx, target, served.tool, inputs, prompt_purpose(prompt.name), what)
        resources = {uri: s.resource for uri, s in catalog.resources.items()}
        try:
            messages = prompts.assemble_messages(prompt, outputs, prompts.resource_lookup(resources))
        except prompts.PromptUnavailable as exc:
            raise MCPError(types.INTERNAL_ERROR, f"{what} could not be produced: {exc}") from None
        return types.GetPromptResult.model_validate({"description": prompt.description, "messages": messages})

    return {"on_list_prompts": on_list_prompts, "on_get_prompt": on_get_prompt}
