"""The platform MCP server: tools, resources and a prompt for managing one user's Toolpress apps."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError
from sqlmodel import Session

from backend import crud
from backend.core.settings import Settings
from backend.models import RunStatus, User
from backend.platform_mcp.reference import PROMPT_NAME, design_prompt, step_reference
from backend.platform_mcp.schemas import TestRunResult
from backend.platform_mcp.tools import TOOLS, TOOLS_BY_NAME, Call, PlatformTool, owned_app
from backend.services import InvalidSpec, ServiceError
from backend.services import apps as app_service

logger = logging.getLogger(__name__)

REFERENCE_URI = "toolpress://reference/step-types"
SPEC_URI_TEMPLATE = "toolpress://apps/{app_id}/spec"
_SPEC_URI = re.compile(r"^toolpress://apps/(\d{1,18})/spec$")
INSTRUCTIONS = (
    "Manage your Toolpress apps: each app is a workflow (inputs, steps, outputs) published as its own MCP tool. "
    "To build one: read list_step_types (or the design_toolpress_app prompt), write a YAML spec, "
    "validate_app_spec, create_app, test_run_app, publish_app, then enable_mcp for its URL."
)


@dataclass(frozen=True)
class Caller:
    """Who a request acts for, and whether only reading tools are allowed."""

    user_id: int
    read_only: bool = False


CallerOf = Callable[[ServerRequestContext[Any, Any]], Caller]


def tool_descriptor(tool: PlatformTool) -> types.Tool:
    """The MCP descriptor of a platform tool."""
    hints: dict[str, Any] = {"read_only_hint": not tool.writes, "idempotent_hint": tool.idempotent}
    if tool.writes:  # destructiveHint and openWorldHint mean something only for tools that change things
        hints.update(destructive_hint=tool.destructive, open_world_hint=tool.open_world)
    else:
        hints.update(open_world_hint=False)
    return types.Tool(
        name=tool.name,
        title=tool.title,
        description=tool.description,
        input_schema=tool.params.model_json_schema(),
        output_schema=tool.result.model_json_schema(),
        annotations=types.ToolAnnotations(title=tool.title, **hints),
    )


def visible_tools(read_only: bool) -> list[PlatformTool]:
    """The tools a caller may see: all, or only those that change nothing."""
    return [tool for tool in TOOLS if not (read_only and tool.writes)]


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def spec_errors_text(exc: InvalidSpec) -> str:
    """Every spec error on its own line, with its path and step."""
    lines = []
    for err in exc.errors:
        step = f" (step '{err['step']}')" if err.get("step") else ""
        lines.append(f"- {err['path']}{step}: {err['message']}")
    return "The app spec is invalid; nothing was saved. Fix these and try again:\n" + "\n".join(lines)


def _arguments_text(tool: PlatformTool, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(arguments)"
        lines.append(f"- {path}: {err['msg']}")
    return f"Invalid arguments for {tool.name}:\n" + "\n".join(lines)


def build_server(settings: Settings, caller_of: CallerOf) -> Server:
    """The low-level server; `caller_of` says who each request acts for (from the HTTP route or the stdio command)."""

    async def on_list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        caller = caller_of(ctx)
        return types.ListToolsResult(tools=[tool_descriptor(t) for t in visible_tools(caller.read_only)])

    async def on_call_tool(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        caller = caller_of(ctx)
        tool = TOOLS_BY_NAME.get(params.name)
        if tool is None:
            raise MCPError(types.INVALID_PARAMS, f"unknown tool {params.name[:100]!r}")
        if caller.read_only and tool.writes:
            return _error(f"{tool.name} changes things, and this connection is read-only; nothing was done.")
        try:
            args = tool.params.model_validate(params.arguments or {})
        except ValidationError as exc:
            return _error(_arguments_text(tool, exc))

        async def relay(done: int, total: int, message: str | None) -> None:
            await ctx.session.report_progress(done, total, message)

        try:
            result = await tool.handler(Call(settings=settings, user_id=caller.user_id, progress=relay), args)
        except InvalidSpec as exc:
            return _error(spec_errors_text(exc))
        except ServiceError as exc:
            return _error(f"{exc}")
        except Exception:
            logger.exception("platform tool %s failed", tool.name)
            return _error(f"Internal error in {tool.name}; it may not have completed. Check with a read tool, then retry.")
        data = result.model_dump(mode="json")
        failed = isinstance(result, TestRunResult) and result.status is not RunStatus.succeeded
        text = json.dumps(data, indent=1, ensure_ascii=False)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=data, is_error=failed)

    async def on_list_resources(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        caller = caller_of(ctx)

        def work(session: Session, user: User) -> list[types.Resource]:
            rows, _ = crud.list_apps(session=session, owner_id=user.id, limit=500)
            return [
                types.Resource(
                    uri=SPEC_URI_TEMPLATE.format(app_id=app.id),
                    name=f"app-{app.id}-spec",
                    title=f"{app.name} (spec)",
                    description=f"The draft spec of the app {app.name!r} as YAML.",
                    mime_type="application/yaml",
                )
                for app in rows
            ]

        apps = await Call(settings=settings, user_id=caller.user_id).db(work)
        reference = types.Resource(
            uri=REFERENCE_URI,
            name="step-types",
            title="Step type reference",
            description="Every step type an app spec can use, with its fields' JSON Schema.",
            mime_type="text/markdown",
        )
        return types.ListResourcesResult(resources=[reference, *apps])

    async def on_list_resource_templates(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        template = types.ResourceTemplate(
            uri_template=SPEC_URI_TEMPLATE,
            name="app-spec",
            title="App spec",
            description="The draft spec of one of your apps as YAML.",
            mime_type="application/yaml",
        )
        return types.ListResourceTemplatesResult(resource_templates=[template])

    async def on_read_resource(
        ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        caller = caller_of(ctx)
        uri = str(params.uri)
        if uri == REFERENCE_URI:
            text, mime = step_reference(), "text/markdown"
        elif match := _SPEC_URI.match(uri):
            app_id = int(match.group(1))
            try:
                text = await Call(settings=settings, user_id=caller.user_id).db(
                    lambda session, user: app_service.export_yaml(owned_app(session, user, app_id))
                )
            except ServiceError as exc:
                raise MCPError(types.INVALID_PARAMS, f"{exc}") from None
            mime = "application/yaml"
        else:
            raise MCPError(types.INVALID_PARAMS, f"unknown resource {uri[:200]!r}")
        return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type=mime, text=text)])

    async def on_list_prompts(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        goal = types.PromptArgument(name="goal", description="What the tool should do, in a sentence or two.", required=False)
        prompt = types.Prompt(
            name=PROMPT_NAME,
            title="Design a Toolpress app",
            description="Walks you through writing an app spec: inputs, steps (with the step reference) and outputs.",
            arguments=[goal],
        )
        return types.ListPromptsResult(prompts=[prompt])

    async def on_get_prompt(ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams) -> types.GetPromptResult:
        if params.name != PROMPT_NAME:
            raise MCPError(types.INVALID_PARAMS, f"unknown prompt {params.name[:100]!r}; this server offers {PROMPT_NAME!r}")
        text = design_prompt((params.arguments or {}).get("goal"))
        message = types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
        return types.GetPromptResult(description="Design a Toolpress app", messages=[message])

    return Server(
        "toolpress-platform",
        version="0.1.0",
        title="Toolpress",
        instructions=INSTRUCTIONS,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
        on_list_resources=on_list_resources,
        on_list_resource_templates=on_list_resource_templates,
        on_read_resource=on_read_resource,
        on_list_prompts=on_list_prompts,
        on_get_prompt=on_get_prompt,
    )
