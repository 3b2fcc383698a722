"""Runs started by MCP requests: a tool call, a prompt rendered, a templated resource read.

Each is a run of the app's live version on a worker, recorded with who called and how (URL, token, toolkit)
and counted against the same limits; a prompt or resource run also records its purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import threading

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from backend.core.settings import Settings
from backend.mcp.access import Target, admit_call
from backend.mcp.cancellation import follow_cancellable
from backend.mcp.questions import answer_of, asking_client, resume_token
from backend.mcp.sessions import SESSION_STATE_KEY
from backend.mcp.step_logs import log_relay
from backend.models import Run, RunStatus
from backend.services import CallInterrupted, QueueUnavailable
from backend.services.errors import Conflict
from backend.services.questions import answer_run, find_run
from backend.services.queueing import record_and_enqueue
from backend.services.runs import ProgressCallback, dispatch_and_follow, new_run
from backend.services.toolkits import ServedTool
from backend.services.usage import recorded_arguments

LEGACY_STATE_KEY = "toolpress_legacy_sse"


def client_identity(ctx: ServerRequestContext[Any, Any]) -> tuple[str | None, str | None]:
    """The calling client's name and version: from the handshake, the session id, or the User-Agent."""
    params = ctx.session.client_params
    if params is not None and params.client_info is not None:
        return params.client_info.name, params.client_info.version
    session = getattr(getattr(ctx.request, "state", None), SESSION_STATE_KEY, None)
    if session is not None and session.client_name:
        return session.client_name, session.client_version
    headers = getattr(ctx.request, "headers", None)
    agent = headers.get("user-agent") if headers is not None else None
    return (agent[:200], None) if agent else (None, None)


def new_call_run(
    settings: Settings,
    ctx: ServerRequestContext[Any, Any],
    tool: ServedTool,
    inputs: dict[str, Any],
    record: dict[str, Any],
    purpose: str | None = None,
) -> tuple[Run, Callable[[], None]]:
    """A queued run of `tool`'s live version for this request (`record`: how the call came in), and how to start it.

    Nothing is written yet: the start (blocking, run it in a thread) records the run and queues it in one go, so
    `follow_call_run` can subscribe to the run's events before it exists.
    """
    client_name, client_version = client_identity(ctx)
    run = new_run(app=tool.app, version=tool.version, inputs=inputs, endpoint_id=tool.endpoint_id,
                  client_name=client_name, client_version=client_version,
                  record={**record, "toolkit_id": tool.toolkit_id, "purpose": purpose})

    def start() -> None:
        run.arguments = recorded_arguments(settings=settings, inputs=inputs)  # off the event loop: inputs may be large
        record_and_enqueue(settings, run)

    return run, start


async def follow_call_run(
    settings: Settings, ctx: ServerRequestContext[Any, Any], run: Run, relay: ProgressCallback | None = None,
    start: Any = None,
) -> Run:
    """Queue the run and wait for its end, relaying progress; a cancel from the client (or a drop) cancels it.

    A question of the run is put to the client (backend.mcp.questions): on the call's stream, or, for a
    2026-07-28 client, by returning the run still ``waiting_for_input``. ``start`` (blocking) records and queues
    the run (new_call_run), or records the answer that queues a parked one; without it the recorded run is queued.
    """
    # legacy SSE delivers notifications/cancelled by cancelling the handler, so there a drop must cancel
    legacy = bool(getattr(getattr(ctx.request, "state", None), LEGACY_STATE_KEY, False))
    recorded = threading.Event()  # the start has recorded the run (or failed): a cancel waits for it
    if start is None:
        recorded.set()

    def started() -> object:
        try:
            return start()
        finally:
            recorded.set()

    async def follow() -> Run:
        async with asking_client(settings, ctx, run.id) as on_question:
            return await dispatch_and_follow(
                settings=settings,
                run=run,
                on_progress=relay,
                on_log=log_relay(settings, ctx),
                cancel_when_abandoned=settings.cancel_on_disconnect or legacy,
                outcome_only=True,  # callers need only the status, result and error
                on_question=on_question,
                start=started if start is not None else None,
            )

    final, _ = await follow_cancellable(settings, ctx, run, follow, recorded)
    return final


async def resume_call_run(settings: Settings, ctx: ServerRequestContext[Any, Any], tool: ServedTool,
                          params: types.CallToolRequestParams, relay: ProgressCallback | None = None) -> Run:
    """2026-07-28: the retry of a call that returned input_required records its answer and follows the run.

    Raises Conflict when the state is not Toolpress's, names no run of this tool, lacks the response, or the run
    no longer waits for it (answered already, expired, cancelled).
    """
    found = resume_token(settings, params.request_state or "")
    if found is None:
        raise Conflict("the requestState was not issued by this server, or it expired")
    run_id, question_id, kind = found
    response = (params.input_responses or {}).get(question_id)
    run = await anyio.to_thread.run_sync(find_run, settings, run_id)
    if run is None or run.app_id != tool.app.id:
        raise Conflict("the requestState names no run of this tool")
    if response is None:
        raise Conflict(f"the retry carries no response to the input request '{question_id}'")
    answer = answer_of(kind, response.model_dump(by_alias=True, mode="json", exclude_none=True), None)
    record = partial(answer_run, settings=settings, run_id=run_id, question_id=question_id, answer=answer)
    return await follow_call_run(settings, ctx, run, relay, start=record)


async def run_for_request(
    settings: Settings,
    ctx: ServerRequestContext[Any, Any],
    target: Target,
    tool: ServedTool,
    inputs: dict[str, Any],
    purpose: str,
    what: str,
) -> dict[str, Any]:
    """Run `tool`'s workflow (or a spec derived for `purpose`) to its end; its outputs, or an MCP error naming `what`."""
    admission = await admit_call(settings, ctx, target)  # an MCP error over a limit; nothing is queued
    try:
        run, start = new_call_run(settings, ctx, tool, inputs, admission.record, purpose)
        final = await follow_call_run(settings, ctx, run, start=start)
    except (QueueUnavailable, CallInterrupted) as exc:
        raise MCPError(types.INTERNAL_ERROR, f"{what} could not be produced: {exc}.") from None
    finally:
        await admission.release()
    if RunStatus(final.status) is not RunStatus.succeeded:
        raise MCPError(types.INTERNAL_ERROR, f"{what} could not be produced: {final.error or 'the run failed'} (run {final.id})")
    return final.result or {}
