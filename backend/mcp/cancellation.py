"""`notifications/cancelled` for calls that run in another API process.

Over Streamable HTTP every POST may reach a different API process, so the process that receives a
`notifications/cancelled` is often not the one holding the call. The session id issued on `initialize`
carries a random nonce; a call made in that session listens on the event bus under
`{nonce}:{request id}`, and whichever process receives the notification publishes there. The call's run
is then cancelled, its task revoked, and its response stream closed without a result (the client has
given up on that request id). Legacy SSE sessions live in one process and use the SDK's own handling.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp.server.context import ServerRequestContext

from backend.core.db import session_scope
from backend.core.events import get_event_bus
from backend.core.settings import Settings
from backend.mcp.sessions import SESSION_STATE_KEY, McpSession, OnCancelled
from backend.models import Run
from backend.services.runs import cancel_run

logger = logging.getLogger(__name__)

_CHANNEL = "mcp-cancel:"
REASON = "cancelled by the caller (notifications/cancelled)"
RECORD_WAIT_SECONDS = 30.0  # a bound on waiting for a call's run to be recorded (one insert; the database may be slow)


def _channel(session: McpSession | None, request_id: Any) -> str | None:
    if session is None or not session.nonce or request_id is None or isinstance(request_id, bool):
        return None
    return f"{_CHANNEL}{session.nonce}:{request_id}"


def relay(settings: Settings) -> OnCancelled:
    """The `on_cancelled` hook of `with_session`: publish each cancel to the call it names, wherever it runs."""

    async def on_cancelled(session: McpSession, request_ids: list[Any]) -> None:
        bus = get_event_bus(settings.events_backend_url)
        for request_id in request_ids:
            channel = _channel(session, request_id)
            if channel is not None:
                await anyio.to_thread.run_sync(bus.publish, channel, {"type": "cancel"})

    return on_cancelled


async def follow_cancellable(
    settings: Settings, ctx: ServerRequestContext[Any, Any], run: Run, follow: Callable[[], Awaitable[Run]],
    recorded: threading.Event,
) -> tuple[Run, bool]:
    """Run `follow()` while listening for this call's `notifications/cancelled`; return (final run, cancelled by it).

    `follow` records the run as it starts: a cancel that comes first waits until `recorded` is set.
    """
    session = getattr(getattr(ctx.request, "state", None), SESSION_STATE_KEY, None)
    key = _channel(session, ctx.request_id)
    if key is None:
        return await follow(), False
    cancelling: list[asyncio.Future[None]] = []  # the cancel, once the notification came (at most one)
    followed = False  # the call has its answer: a notification that comes later is for nothing

    def cancel() -> None:
        recorded.wait(RECORD_WAIT_SECONDS)
        with session_scope(settings.sqlalchemy_url) as session:
            cancel_run(session=session, settings=settings, run_id=run.id, reason=REASON)

    def on_cancel(_event: dict[str, Any]) -> None:
        # on the loop, as the notification arrives: no task waits for it during the call
        if not cancelling and not followed:
            logger.info("run %s: the client sent notifications/cancelled", run.id)
            cancelling.append(asyncio.ensure_future(anyio.to_thread.run_sync(cancel)))

    async with get_event_bus(settings.events_backend_url).subscribe(key, on_cancel):
        try:
            final = await follow()
        finally:
            followed = True
            if cancelling:  # the run ends as cancelled either way; the call waits for the cancel to be recorded
                with anyio.CancelScope(shield=True):
                    await cancelling[0]
    return final, bool(cancelling)
