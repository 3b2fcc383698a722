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

import workflows
from backend.core.settings import Settings
from backend.mcp.handlers import target_of
from backend.mcp.runs import run_for_request
from backend.services.catalog import Catalog, ServedPrompt, catalog_of
from backend.services.purposes import prompt_purpose
from workflows.prompts import DYNAMIC_OUTPUT, content_of, messages_from_output, templated_fields

__all__ = ["build_prompt_handlers", "check_arguments", "resource_lookup"]


def _listed(served: ServedPrompt) -> types.Prompt:
    prompt = served.prompt
    return types.Prompt(
        name=prompt.name,
        title=prompt.title,
        description=prompt.description or prompt.title or prompt.name,
        arguments=[
            types.PromptArgument(name=a.name, description=a.description, required=a.required) for a in prompt.arguments
        ]
        or None,
    )


def check_arguments(served: ServedPrompt, arguments: dict[str, str] | None) -> dict[str, str]:
    """The prompt's arguments as given, or an MCP invalid-params error naming what is missing or not allowed."""
    given = dict(arguments or {})
    declared = {a.name: a for a in served.prompt.arguments}
    problems = [f"unknown argument '{name}'" for name in given if name not in declared]
    for argument in served.prompt.arguments:
        value = given.get(argument.name)
        if value is None:
            if argument.required:
                problems.append(f"missing required argument '{argument.name}'")
        elif argument.values is not None and value not in argument.values:
            problems.append(f"'{argument.name}' must be one of {', '.join(argument.values)}")
    if problems:
        raise MCPError(types.INVALID_PARAMS, f"invalid arguments for prompt '{served.prompt.name}': {'; '.join(problems)}")
    return given


def resource_lookup(catalog: Catalog) -> Any:
    """`(uri) -> (mime type, text, blob)` of a static resource the URL serves; an MCP error for any other URI."""

    def lookup(uri: str) -> tuple[str, str | None, str | None]:
        served = catalog.resources.get(uri)
        if served is None:
            raise MCPError(types.INVALID_PARAMS, f"the prompt embeds '{uri[:200]}', which this server does not serve")
        resource = served.resource
        return resource.mime_type or ("text/plain" if resource.text is not None else "application/octet-stream"), \
            resource.text, resource.blob

    return lookup


def build_prompt_handlers(settings: Settings) -> dict[str, Any]:
    """The `on_list_prompts` and `on_get_prompt` handlers."""

    async def on_list_prompts(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        catalog = await anyio.to_thread.run_sync(catalog_of, target_of(ctx))
        return types.ListPromptsResult(prompts=[_listed(served) for served in catalog.prompts.values()])

    async def on_get_prompt(
        ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        target = target_of(ctx)
        catalog = await anyio.to_thread.run_sync(catalog_of, target)
        served = catalog.prompts.get(params.name)
        if served is None:
            offered = ", ".join(repr(name) for name in list(catalog.prompts)[:20]) or "no prompts"
            raise MCPError(types.INVALID_PARAMS, f"unknown prompt {params.name[:100]!r}; this server offers {offered}")
        arguments = check_arguments(served, params.arguments)
        prompt, what = served.prompt, f"prompt '{served.prompt.name}'"
        if prompt.dynamic:
            try:
                inputs = workflows.validate_inputs(served.spec, arguments)
            except workflows.InvalidInputs as exc:
                issues = "; ".join(f"{issue.path}: {issue.message}" for issue in exc.errors)
                raise MCPError(types.INVALID_PARAMS, f"invalid arguments for {what}: {issues}") from None
            outputs = await run_for_request(settings, ctx, target, served.tool, inputs, prompt_purpose(prompt.name), what)
            try:
                messages = messages_from_output(outputs.get(DYNAMIC_OUTPUT))
            except ValueError as exc:
                raise MCPError(types.INTERNAL_ERROR, f"{what} could not be produced: {exc}") from None
        else:
            rendered: dict[str, Any] = {}
            if templated_fields(prompt):
                rendered = await run_for_request(
                    settings, ctx, target, served.tool, arguments, prompt_purpose(prompt.name), what
                )
            lookup = resource_lookup(catalog)
            messages = [content_of(message, rendered, index, lookup) for index, message in enumerate(prompt.messages)]
        return types.GetPromptResult.model_validate({"description": prompt.description, "messages": messages})

    return {"on_list_prompts": on_list_prompts, "on_get_prompt": on_get_prompt}
