"""Step logs to the caller: `logging/setLevel` and `notifications/message` on the call's stream.

A run's steps log (a `log` step, the HTTP and model steps' debug notices); the worker publishes each message
on the run's event channel and the API process holding the call relays it as `notifications/message` on
that call's own stream, with the step id as `logger`.

Which levels a caller gets:
- 2026-07-28 clients opt in per request (`io.modelcontextprotocol/logLevel` in the call's `_meta`); the SDK
  drops what they did not ask for.
- Handshake clients (2024-11-05 … 2025-11-25) send `logging/setLevel` once per session. Any API process may
  get that request and any other may hold a later call, so the level is kept by the session's nonce in the
  deployment's shared store (Redis with several processes, process memory in the embedded mode) for as long
  as a session id is valid. Until a client sets one, it gets `info` and above.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any, Protocol

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

import workflows
from backend.core.settings import Settings
from backend.mcp.sessions import SESSION_MAX_AGE, SESSION_STATE_KEY

logger = logging.getLogger(__name__)

DEFAULT_LEVEL = "info"
LOG_SESSION_STATE_KEY = "toolpress_log_session"  # a legacy SSE session's name for its level (no session id there)
_KEY_PREFIX = "toolpress:loglevel:"
_MEMORY_MAX = 10_000

# Logging is deprecated from 2026-07-28 on, not gone: handshake clients still set levels and read the messages.
warnings.filterwarnings("ignore", message="The logging capability is deprecated", category=MCPDeprecationWarning)


class LevelStore(Protocol):
    """Where each session's chosen level is kept."""

    def set(self, session: str, level: str) -> None: ...

    def get(self, session: str) -> str | None: ...


class MemoryLevels:
    """One process's levels (the embedded mode has one API process), oldest forgotten first past a bound."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._levels: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def set(self, session: str, level: str) -> None:
        with self._lock:
            self._levels[session] = (level, time.monotonic() + SESSION_MAX_AGE)
            self._levels.move_to_end(session)
            while len(self._levels) > _MEMORY_MAX:
                self._levels.popitem(last=False)

    def get(self, session: str) -> str | None:
        with self._lock:
            found = self._levels.get(session)
        return found[0] if found is not None and found[1] > time.monotonic() else None


class RedisLevels:
    """Levels in Redis, seen by every API process; each lapses with the session ids that can name it."""

    def __init__(self, url: str, namespace: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._prefix = f"{_KEY_PREFIX}{namespace}:"

    def set(self, session: str, level: str) -> None:
        self._client.set(self._prefix + session, level, ex=SESSION_MAX_AGE)

    def get(self, session: str) -> str | None:
        value = self._client.get(self._prefix + session)
        return value.decode() if isinstance(value, bytes) else value


@lru_cache(maxsize=4)
def level_store(url: str, namespace: str) -> LevelStore:
    """The store for the deployment's event bus URL: Redis when the processes share one, else memory."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisLevels(url, namespace)
    return MemoryLevels()


def _store(settings: Settings) -> LevelStore:
    return level_store(settings.events_backend_url, settings.deployment_key())


def _session_of(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """The name a handshake session's level is kept under: its nonce, or the legacy SSE session's."""
    state = getattr(ctx.request, "state", None)
    session = getattr(state, SESSION_STATE_KEY, None)
    if session is not None and session.nonce:
        return str(session.nonce)
    legacy = getattr(state, LOG_SESSION_STATE_KEY, None)
    return str(legacy) if legacy else None


def set_level_handler(settings: Settings) -> Callable[[ServerRequestContext[Any, Any], types.SetLevelRequestParams],
                                                       Awaitable[types.EmptyResult]]:
    """The `logging/setLevel` handler: keep the level for the session's later calls, in any API process."""

    async def on_set_level(ctx: ServerRequestContext[Any, Any], params: types.SetLevelRequestParams) -> types.EmptyResult:
        session = _session_of(ctx)
        if session is None:  # a stateless client: nothing names its later calls, so there is nothing to keep
            return types.EmptyResult()
        try:
            await anyio.to_thread.run_sync(_store(settings).set, session, params.level)
        except Exception as exc:
            logger.warning("could not keep a session's log level (%s)", type(exc).__name__)
            raise MCPError(types.INTERNAL_ERROR, "the log level could not be saved just now; try again") from None
        return types.EmptyResult()

    return on_set_level


def log_relay(settings: Settings, ctx: ServerRequestContext[Any, Any]) -> Callable[[str, str, str], Awaitable[None]]:
    """The call's `on_log`: each step log message as `notifications/message` on this call's stream.

    The handshake session's level is read at the first message only, so a call that logs nothing costs nothing.
    """
    modern = ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
    minimum: list[str] = []

    async def session_level() -> str:
        session = _session_of(ctx)
        if session is None:
            return DEFAULT_LEVEL
        try:
            return await anyio.to_thread.run_sync(_store(settings).get, session) or DEFAULT_LEVEL
        except Exception as exc:
            logger.warning("could not read a session's log level (%s); using %s", type(exc).__name__, DEFAULT_LEVEL)
            return DEFAULT_LEVEL

    async def on_log(level: str, message: str, step_id: str) -> None:
        if level not in workflows.LOG_LEVELS:
            return
        if not modern:  # 2026-07-28 clients chose per request; the SDK applies their choice
            if not minimum:
                minimum.append(await session_level())
            if not workflows.at_least(level, minimum[0]):
                return
        try:
            await ctx.session.send_log_message(level, message, logger=step_id, related_request_id=ctx.request_id)  # type: ignore[arg-type]
        except Exception:  # the caller's stream is gone; the run and its trace go on
            logger.debug("a step log message could not be delivered", exc_info=True)

    return on_log
