"""completion/complete for prompt arguments and resource template variables.

Suggestions come from the spec: a prompt argument's `values` (its closed list) or `suggestions`, a
template's `completions` per variable; the values that start with what the user typed (ignoring case) are
offered. Or they come from the app's workflow (`suggestions_from` / `completions_from`): it runs on a worker
with the input of the argument's name set to what was typed (plus the other arguments already given, where
they are inputs too), recorded as a run with the purpose `completion:<argument>`, and the strings of the named
array output are offered as they are. Either way at most MAX_SUGGESTIONS, with the total and `hasMore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

import workflows
from backend.core.settings import Settings
from backend.mcp.handlers import target_of
from backend.mcp.runs import run_for_request
from backend.services.catalog import Catalog, catalog_of
from backend.services.toolkits import ServedTool
from workflows.prompts import MAX_SUGGESTIONS

__all__ = ["WorkflowSource", "build_completion_handlers", "candidates", "capped", "complete"]


@dataclass(frozen=True)
class WorkflowSource:
    """Suggestions that a run of the app's workflow produces (its array `output`)."""

    tool: ServedTool
    spec: workflows.AppSpec
    output: str


def candidates(catalog: Catalog, params: types.CompleteRequestParams) -> list[str] | WorkflowSource:
    """The values the spec offers for the argument named in `params`, or the workflow that suggests them."""
    ref, name = params.ref, params.argument.name
    if isinstance(ref, types.PromptReference):
        served = catalog.prompts.get(ref.name)
        if served is None:
            raise MCPError(types.INVALID_PARAMS, f"unknown prompt {ref.name[:100]!r}")
        argument = next((a for a in served.prompt.arguments if a.name == name), None)
        if argument is None:
            raise MCPError(types.INVALID_PARAMS, f"prompt {ref.name[:100]!r} has no argument {name[:100]!r}")
        if argument.suggestions_from is not None:
            return WorkflowSource(served.tool, served.spec, argument.suggestions_from)
        return list(argument.values or argument.suggestions or [])
    template = next((t for t in catalog.templates if t.template.uri_template == ref.uri), None)
    if template is None:
        raise MCPError(types.INVALID_PARAMS, f"unknown resource template {ref.uri[:200]!r}")
    if name in template.template.completions_from:
        return WorkflowSource(template.tool, template.spec, template.template.completions_from[name])
    return list(template.template.completions.get(name, []))


def capped(values: list[str]) -> types.Completion:
    """At most MAX_SUGGESTIONS of `values` (duplicates dropped), with the total and whether there are more."""
    unique = list(dict.fromkeys(values))
    shown = unique[:MAX_SUGGESTIONS]
    return types.Completion(values=shown, total=len(unique), has_more=len(unique) > len(shown))


def complete(values: list[str], typed: str) -> types.Completion:
    """The values starting with `typed` (ignoring case), capped at MAX_SUGGESTIONS."""
    prefix = typed.casefold()
    return capped([value for value in values if value.casefold().startswith(prefix)])


async def _suggested(settings: Settings, ctx: ServerRequestContext[Any, Any], source: WorkflowSource,
                     params: types.CompleteRequestParams) -> types.Completion:
    name = params.argument.name
    given = dict(params.context.arguments or {}) if params.context is not None else {}
    known = {field.name for field in source.spec.inputs}
    arguments = {k: v for k, v in given.items() if k in known and k != name}
    try:
        inputs = workflows.validate_inputs(source.spec, {**arguments, name: params.argument.value})
    except workflows.InvalidInputs:  # not enough typed yet for the workflow to run: nothing to suggest
        return capped([])
    outputs = await run_for_request(settings, ctx, target_of(ctx), source.tool, inputs, f"completion:{name}"[:200],
                                    f"suggestions for '{name[:100]}'")
    value = outputs.get(source.output)
    return capped([str(v) for v in value if isinstance(v, (str, int, float))] if isinstance(value, list) else [])


def build_completion_handlers(settings: Settings) -> dict[str, Any]:
    """The `on_completion` handler."""

    async def on_completion(
        ctx: ServerRequestContext[Any, Any], params: types.CompleteRequestParams
    ) -> types.CompleteResult:
        catalog = await anyio.to_thread.run_sync(catalog_of, target_of(ctx))
        source = candidates(catalog, params)
        if isinstance(source, WorkflowSource):
            return types.CompleteResult(completion=await _suggested(settings, ctx, source, params))
        return types.CompleteResult(completion=complete(source, params.argument.value))

    return {"on_completion": on_completion}
