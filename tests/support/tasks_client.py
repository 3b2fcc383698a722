"""The client side of the MCP Tasks extension (2026-07-28), built on the `mcp` SDK's client extension API."""

from __future__ import annotations

from typing import Any, Literal

import anyio
import mcp_types as types
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.client.session import ClientSession

TASKS = "io.modelcontextprotocol/tasks"


class TaskHandle(types.Result):
    """A `CreateTaskResult`: the task a tools/call was turned into."""

    result_type: Literal["task"] = "task"
    task_id: str
    status: str
    status_message: str | None = None
    created_at: str
    last_updated_at: str
    ttl_ms: int | None = None
    poll_interval_ms: int | None = None


class TaskState(types.Result):
    """A `tasks/get` answer: the task, with the final result or error once it is terminal (or what it asks)."""

    task_id: str
    status: str
    status_message: str | None = None
    created_at: str
    last_updated_at: str
    ttl_ms: int | None = None
    poll_interval_ms: int | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    input_requests: dict[str, Any] | None = None


class TaskParams(types.RequestParams):
    task_id: str


class UpdateParams(TaskParams):
    input_responses: dict[str, Any]


class UpdateTask(types.Request[UpdateParams, Literal["tasks/update"]]):
    method: Literal["tasks/update"] = "tasks/update"
    params: UpdateParams
    name_param = "taskId"


class GetTask(types.Request[TaskParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskParams
    name_param = "taskId"


class CancelTask(types.Request[TaskParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: TaskParams
    name_param = "taskId"


async def get_task(session: ClientSession, task_id: str) -> TaskState:
    """One `tasks/get`."""
    return await session.send_request(GetTask(params=TaskParams(task_id=task_id)), TaskState)


async def update_task(session: ClientSession, task_id: str, responses: dict[str, Any]) -> None:
    """One `tasks/update` carrying responses to the task's input requests."""
    await session.send_request(UpdateTask(params=UpdateParams(task_id=task_id, input_responses=responses)),
                               types.EmptyResult)


async def cancel_task(session: ClientSession, task_id: str) -> None:
    """One `tasks/cancel` (an empty acknowledgement)."""
    await session.send_request(CancelTask(params=TaskParams(task_id=task_id)), types.EmptyResult)


async def wait_for_task(session: ClientSession, task_id: str, seen: list[TaskState] | None = None) -> TaskState:
    """Poll `tasks/get` (at the interval the server suggests, at most 0.2 s here) until the task is terminal."""
    while True:
        state = await get_task(session, task_id)
        if seen is not None:
            seen.append(state)
        if state.status in ("completed", "failed", "cancelled"):
            return state
        await anyio.sleep(min((state.poll_interval_ms or 200) / 1000, 0.2))


class Tasks(ClientExtension):
    """Declares the extension; a task handle returned by tools/call is polled to its CallToolResult."""

    identifier = TASKS

    def __init__(self) -> None:
        self.handles: list[TaskHandle] = []

    def claims(self) -> list[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=TaskHandle, resolve=self._resolve)]

    async def _resolve(self, handle: TaskHandle, ctx: ClaimContext) -> types.CallToolResult:
        self.handles.append(handle)
        state = await wait_for_task(ctx.session, handle.task_id)
        if state.status != "completed" or state.result is None:
            text = state.status_message or state.status
            return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)
        return types.CallToolResult.model_validate(state.result, by_name=False)
