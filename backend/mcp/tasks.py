"""The MCP Tasks extension (`io.modelcontextprotocol/tasks`, protocol 2026-07-28): call now, fetch later.

A client that declares the extension on a `tools/call` may get a task handle instead of the result; it then
polls `tasks/get` until the task is terminal (the final `CallToolResult` comes inline) and may `tasks/cancel`.
Whether a call becomes a task is the app's `tasks` setting: `always`, `never`, or `auto` (when the app's median
run of late takes longer than `TOOLPRESS_TASK_THRESHOLD_SECONDS`).

A task is a run: the task id is the run id and the task's state is the run row, so any API process answers for
any task and tasks outlive an API restart. A task is visible only through the app endpoint or toolkit it was
created on (by URL, token or OAuth).
A task whose run asks the caller (an `ask` step, `llm` with `provider: client`) is `input_required`, its question in
`inputRequests`; `tasks/update` with `inputResponses` answers it and the run resumes (backend.mcp.questions).
Tool errors end as `completed` with `isError` (the spec keeps `failed` for JSON-RPC errors). Handshake-era
clients (2025-11-25 and older) always get the plain synchronous call.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import Field
from sqlmodel import col, select

import workflows
from backend import crud
from backend.core.db import session_scope
from backend.core.settings import Settings
from backend.models import TERMINAL_STATUSES, Run, RunStatus, as_utc, utcnow
from backend.mcp.questions import input_request, task_answer
from backend.services.endpoints import EndpointTarget
from backend.services.errors import ServiceError
from backend.services.toolkits import ToolkitTarget
from backend.services.lost_runs import mark_worker_lost_if_orphaned
from backend.services.runs import cancel_run

logger = logging.getLogger(__name__)

TASKS = "io.modelcontextprotocol/tasks"
CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
MISSING_REQUIRED_CLIENT_CAPABILITY = -32021
_MEDIAN_OF = 20
_MEDIAN_FRESH_SECONDS = 30.0


class TaskParams(types.RequestParams):
    """Params of `tasks/get`, `tasks/cancel` and `tasks/update`."""

    task_id: str = Field(max_length=64)
    input_responses: dict[str, Any] | None = None


def client_declares_tasks(ctx: ServerRequestContext[Any, Any]) -> bool:
    """True when this request (2026-07-28) carries the Tasks extension in its per-request client capabilities."""
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS or not isinstance(ctx.params, Mapping):
        return False
    meta = ctx.params.get("_meta")
    capabilities = meta.get(CLIENT_CAPABILITIES) if isinstance(meta, Mapping) else None
    extensions = capabilities.get("extensions") if isinstance(capabilities, Mapping) else None
    return isinstance(extensions, Mapping) and TASKS in extensions


class TaskPolicy:
    """Decides per call whether a run becomes a task; remembers each app's median run time for a while."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._medians: dict[int, tuple[float, float | None]] = {}

    def _median_seconds(self, app_id: int) -> float | None:
        cached = self._medians.get(app_id)
        if cached is not None and time.monotonic() - cached[0] < _MEDIAN_FRESH_SECONDS:
            return cached[1]
        with session_scope(self._settings.sqlalchemy_url) as session:
            rows = session.exec(
                select(Run.started_at, Run.ended_at)
                .where(Run.app_id == app_id, Run.status == RunStatus.succeeded)
                .order_by(col(Run.created_at).desc())
                .limit(_MEDIAN_OF)
            ).all()
        durations = [(ended - started).total_seconds() for started, ended in rows if started and ended]
        if not durations:
            return None  # not remembered: the app's first finished run decides the next call
        median = statistics.median(durations)
        self._medians[app_id] = (time.monotonic(), median)
        return median

    async def wanted(self, ctx: ServerRequestContext[Any, Any], spec: workflows.AppSpec, app_id: int) -> bool:
        """Whether to answer this call with a task handle."""
        if spec.tasks == "never" or not client_declares_tasks(ctx):
            return False
        if spec.tasks == "always":
            return True
        median = await anyio.to_thread.run_sync(self._median_seconds, app_id)
        return median is not None and median > self._settings.task_threshold_seconds


def _started_through(run: Run, target: EndpointTarget | ToolkitTarget) -> bool:
    """Whether the run was started through this app endpoint or toolkit (its URL, a token or OAuth)."""
    if isinstance(target, ToolkitTarget):
        return run.toolkit_id == target.toolkit.id
    return run.toolkit_id is None and run.endpoint_id == target.endpoint.id


def _iso(value: Any) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


def task_of(run: Run, settings: Settings, result: types.CallToolResult | None = None) -> dict[str, Any]:
    """The wire `DetailedTask` of a run; `result` is the final CallToolResult of a finished run."""
    status = RunStatus(run.status)
    task: dict[str, Any] = {
        "taskId": run.id,
        "createdAt": _iso(run.created_at),
        "lastUpdatedAt": _iso(run.ended_at or run.started_at or run.created_at),
        "ttlMs": settings.task_ttl_seconds * 1000,
        "pollIntervalMs": settings.task_poll_interval_ms,
    }
    if status is RunStatus.queued:
        task.update(status="working", statusMessage="Queued, waiting for a worker.")
    elif status is RunStatus.running:
        done, total = run.progress_done or 0, run.progress_total or 0
        message = f"{done} of {total} steps done" if total else "Running"
        task.update(status="working", statusMessage=f"{message}: {run.progress_message}" if run.progress_message else message)
    elif status is RunStatus.waiting_for_input and run.question:  # answered by tasks/update (backend.mcp.questions)
        request = input_request(run.question).model_dump(mode="json", by_alias=True, exclude_none=True)
        task.update(status="input_required", statusMessage=f"Waiting for an answer to step '{run.question['step_id']}'.",
                    inputRequests={run.question["id"]: request})
    elif status is RunStatus.cancelled:
        task.update(status="cancelled", statusMessage=run.error or "cancelled")
    else:
        task["status"] = "completed"
        task["statusMessage"] = "Completed." if status is RunStatus.succeeded else f"The app failed: {run.error or 'unknown error'}"
        if result is not None:
            task["result"] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return task


class Tasks:
    """The task side of one MCP endpoint: create tasks, and serve `tasks/get`, `tasks/update`, `tasks/cancel`."""

    def __init__(self, settings: Settings, target_of: Any, result_of: Any) -> None:
        self._settings = settings
        self._target_of = target_of
        self._result_of = result_of
        self.policy = TaskPolicy(settings)
        self._orphan_checked: dict[str, float] = {}

    def install(self, server: Server) -> None:
        """Register the extension's methods and advertise it."""
        server.add_request_handler("tasks/get", TaskParams, self._get)
        server.add_request_handler("tasks/update", TaskParams, self._update)
        server.add_request_handler("tasks/cancel", TaskParams, self._cancel)
        server.extensions[TASKS] = {}

    def created(self, run: Run) -> dict[str, Any]:
        """The `CreateTaskResult` for a run just queued."""
        return {"resultType": "task", **task_of(run, self._settings)}

    def _load(self, target: EndpointTarget | ToolkitTarget, task_id: str) -> Run:
        with session_scope(self._settings.sqlalchemy_url) as session:
            run = crud.get_run(session=session, run_id=task_id)
        if run is None or not _started_through(run, target):
            raise MCPError(types.INVALID_PARAMS, "Failed to retrieve task: Task not found")
        if as_utc(run.created_at) + timedelta(seconds=self._settings.task_ttl_seconds) < utcnow():
            raise MCPError(types.INVALID_PARAMS, "Failed to retrieve task: Task has expired")
        return run

    async def _found(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> Run:
        if not client_declares_tasks(ctx):
            raise MCPError(
                MISSING_REQUIRED_CLIENT_CAPABILITY,
                "Missing required client capability",
                {"requiredCapabilities": {"extensions": {TASKS: {}}}},
            )
        return await anyio.to_thread.run_sync(self._load, self._target_of(ctx), params.task_id)

    def _check_orphan(self, run: Run) -> Run:
        """A task still running long after its start has the workers asked (at most every so often) whether one holds it."""
        lost_after = 0 if self._settings.is_embedded_broker else self._settings.worker_lost_after_seconds
        if not lost_after or RunStatus(run.status) is not RunStatus.running or run.started_at is None:
            return run
        now = time.monotonic()
        if (utcnow() - as_utc(run.started_at)).total_seconds() < lost_after or now - self._orphan_checked.get(run.id, 0) < lost_after:
            return run
        self._orphan_checked[run.id] = now
        if len(self._orphan_checked) > 10_000:
            self._orphan_checked.clear()
        if mark_worker_lost_if_orphaned(self._settings, run):
            with session_scope(self._settings.sqlalchemy_url) as session:
                return crud.get_run(session=session, run_id=run.id) or run
        return run

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        run = await self._found(ctx, params)
        run = await anyio.to_thread.run_sync(self._check_orphan, run)
        finished = RunStatus(run.status) in TERMINAL_STATUSES and RunStatus(run.status) is not RunStatus.cancelled
        result = await anyio.to_thread.run_sync(self._result_of, self._settings, run) if finished else None
        return task_of(run, self._settings, result)

    async def _update(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        run = await self._found(ctx, params)
        try:  # the answer to the task's current question; responses to no outstanding request are ignored
            await anyio.to_thread.run_sync(task_answer, self._settings, run.id, run.question, params.input_responses)
        except ServiceError as exc:
            raise MCPError(types.INVALID_PARAMS, f"The answer was not taken: {exc}") from None
        return {}

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        run = await self._found(ctx, params)

        def cancel() -> None:
            with session_scope(self._settings.sqlalchemy_url) as session:
                cancel_run(session=session, settings=self._settings, run_id=run.id)

        await anyio.to_thread.run_sync(cancel)
        logger.info("task %s cancelled by the client", run.id)
        return {}
