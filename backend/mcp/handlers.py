"""tools/list and tools/call for a published app, looked up from the database on every request."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

import workflows
from backend.core.settings import Settings
from backend.mcp.access import admit_call, find_tool
from backend.mcp.content import has_files, success_result
from backend.mcp.questions import input_required, missing_capability
from backend.mcp.runs import follow_call_run, new_call_run, resume_call_run
from backend.mcp.step_logs import set_level_handler
from backend.models import Run, RunStatus
from backend.services import CallInterrupted, QueueUnavailable
from backend.services.errors import Conflict
from backend.services.apps import describe_tool, version_spec
from backend.services.endpoints import EndpointTarget
from backend.services.toolkits import ToolkitTarget, served_tools
from workflows.mcpcall import DEPTH_HEADER
from workflows.nodes.sub_app import MAX_DEPTH

if TYPE_CHECKING:
    from backend.mcp.tasks import Tasks

logger = logging.getLogger(__name__)

TARGET_STATE_KEY = "toolpress_target"


def target_of(ctx: ServerRequestContext[Any, Any]) -> EndpointTarget | ToolkitTarget:
    """The app endpoint or toolkit the request's URL (or token) leads to (resolved by the route)."""
    request = ctx.request
    target = getattr(getattr(request, "state", None), TARGET_STATE_KEY, None)
    if target is None:  # the route resolves the secret before the SDK sees the request
        raise MCPError(types.INVALID_REQUEST, "this endpoint is not available")
    return target


def _call_depth(ctx: ServerRequestContext[Any, Any]) -> int:
    """How many app calls deep the caller is (``X-Toolpress-Call-Depth`` from an mcp_tool step; 0 without it)."""
    headers = getattr(ctx.request, "headers", None)
    raw = headers.get(DEPTH_HEADER) if headers is not None else None
    if raw is None or not raw.strip().isdigit():
        return 0
    return min(int(raw.strip()), MAX_DEPTH)


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def result_of(settings: Settings, run: Run) -> types.CallToolResult:
    """The CallToolResult for a finished run (blocking: a succeeded run's files are read from the database)."""
    status = RunStatus(run.status)
    if status is RunStatus.succeeded:
        return success_result(settings, run)
    if status is RunStatus.cancelled:
        return _error(f"The run was cancelled: {run.error or 'cancelled'}.")
    return _error(f"The app failed: {run.error or 'unknown error'} (run {run.id})")


def _progress_relay(ctx: ServerRequestContext[Any, Any]) -> Any:
    """Progress of the run, as notifications/progress on the call's stream."""

    async def relay(done: int, total: int, message: str | None) -> None:
        await ctx.session.report_progress(done, total, message)

    return relay


def build_handlers(settings: Settings, tasks: Tasks) -> dict[str, Any]:
    """The `on_*` handlers for the low-level Server, bound to settings; `tasks` decides which calls become tasks."""

    async def on_list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        tools = []
        for served in served_tools(target_of(ctx)):  # one per app: one for an app endpoint, several for a toolkit
            info = describe_tool(version_spec(served.version))
            tools.append(
                types.Tool(
                    name=served.name,
                    title=info.title,
                    description=info.description,
                    input_schema=info.input_schema,
                    output_schema=info.output_schema,
                    annotations=types.ToolAnnotations(title=info.title, **info.annotations) if info.annotations else None,
                )
            )
        return types.ListToolsResult(tools=tools)

    async def on_call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult | dict[str, Any]:
        target = target_of(ctx)
        tool = find_tool(target, params.name)
        spec = version_spec(tool.version)
        if params.request_state is not None:  # 2026-07-28: the retry of a call that asked its caller
            return await _resumed(ctx, tool, params)
        if (missing := missing_capability(ctx, spec)) is not None:
            return _error(missing)
        try:
            inputs = workflows.validate_inputs(spec, params.arguments)
        except workflows.InvalidInputs as exc:
            issues = "\n".join(f"- {issue.path}: {issue.message}" for issue in exc.errors)
            return _error(f"Invalid arguments for {tool.name}:\n{issues}")
        depth = _call_depth(ctx)
        if depth >= MAX_DEPTH:  # a loop of apps calling each other through their MCP URLs
            return _error(f"Refused: apps may nest at most {MAX_DEPTH} calls deep, and this call is "
                          f"{depth + 1} deep.")

        admission = await admit_call(settings, ctx, target)  # an MCP error over a limit; nothing is queued
        relay = _progress_relay(ctx)
        try:
            run, start = new_call_run(settings, ctx, tool, inputs, {**admission.record, "call_depth": depth})
            if await tasks.policy.wanted(ctx, spec, tool.app.id):
                # a task holds no call slot: the concurrency limit counts calls a client is waiting on
                await anyio.to_thread.run_sync(start)
                logger.info("run %s of app %s started as a task", run.id, tool.app.id)
                return tasks.created(run)
            final = await follow_call_run(settings, ctx, run, relay, start=start)
        except (QueueUnavailable, CallInterrupted) as exc:
            return _error(f"{exc}.")
        except Exception:
            logger.exception("tools/call on app %s failed", tool.app.id)
            return _error("Internal error while starting the run; it was not completed. Try again.")
        finally:
            await admission.release()
        return await _answer(final)

    async def _answer(final: Run) -> types.CallToolResult | types.InputRequiredResult:
        """The call's result, or input_required for a 2026-07-28 client when the run waits for it."""
        if RunStatus(final.status) is RunStatus.waiting_for_input and final.question:
            return input_required(settings, final.id, final.question)
        if RunStatus(final.status) is RunStatus.succeeded and has_files(final.result):
            return await anyio.to_thread.run_sync(result_of, settings, final)  # the files are read from the database
        return result_of(settings, final)  # nothing to read: no thread hop

    async def _resumed(ctx: ServerRequestContext[Any, Any], tool: Any,
                       params: types.CallToolRequestParams) -> types.CallToolResult | types.InputRequiredResult:
        admission = await admit_call(settings, ctx, target_of(ctx))  # the retry counts against the same limits
        try:
            return await _answer(await resume_call_run(settings, ctx, tool, params, _progress_relay(ctx)))
        except (Conflict, QueueUnavailable, CallInterrupted) as exc:
            return _error(f"{exc}.")
        finally:
            await admission.release()

    return {"on_list_tools": on_list_tools, "on_call_tool": on_call_tool}


def install_logging(server: Any, settings: Settings) -> None:
    """Declare the logging capability and answer `logging/setLevel` (see backend.mcp.step_logs)."""
    server.add_request_handler("logging/setLevel", types.SetLevelRequestParams, set_level_handler(settings))
