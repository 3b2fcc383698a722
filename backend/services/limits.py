"""Call limits: calls per minute (a sliding window) and concurrent runs, per endpoint, toolkit and token.

A call is admitted only if every scope it passes through (its endpoint or toolkit, and its token if it
came with one) has room; then it is counted in all of them at once, so a call refused by its token's
limit costs the endpoint nothing. Nothing waits: a refused call gets `LimitExceeded` with the limit's
name and when to retry.

With several API processes the counts live in Redis (one Lua script checks and counts atomically, on
Redis's clock so the processes' clocks do not matter). The embedded mode counts in process memory.
A concurrency slot is held by a ticket that is released when the call ends; should a process die
first, the ticket lapses on its own after the longest a call may take.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
import weakref
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from backend.services.errors import ServiceError

WINDOW_SECONDS = 60.0
KEY_PREFIX = "toolpress:limit:"


@dataclass(frozen=True)
class LimitScope:
    """One thing calls are counted against; a limit of 0 means none."""

    key: str
    label: str
    calls_per_minute: int
    max_concurrent_runs: int


class LimitExceeded(ServiceError):
    """A call over a limit; `retry_after` is in seconds (None: when a running call ends)."""

    def __init__(self, scope: LimitScope, limit: str, retry_after: float | None) -> None:
        self.scope, self.limit, self.retry_after = scope, limit, retry_after
        if limit == "calls_per_minute":
            wait = max(1, int(retry_after + 0.999)) if retry_after is not None else 1
            text = (
                f"rate limit reached: {scope.label} allows {scope.calls_per_minute} calls per minute; "
                f"retry in {wait} s"
            )
        else:
            text = (
                f"concurrency limit reached: {scope.label} allows {scope.max_concurrent_runs} runs at a time; "
                "retry when one of the running calls has finished"
            )
        super().__init__(text)

    def data(self) -> dict[str, Any]:
        """Machine-readable details for the MCP error."""
        limit_value = self.scope.calls_per_minute if self.limit == "calls_per_minute" else self.scope.max_concurrent_runs
        return {
            "limit": self.limit,
            "scope": self.scope.label,
            "value": limit_value,
            "retry_after_seconds": None if self.retry_after is None else round(self.retry_after, 3),
        }


class Limiter(Protocol):
    """Admit or refuse a call against scopes, and release its concurrency slots later.

    Both run on the caller's event loop: the in-memory one never waits, the Redis one awaits its round trip,
    so neither needs a thread.
    """

    async def acquire(self, scopes: list[LimitScope], ticket: str, hold_seconds: float) -> None: ...

    async def release(self, scopes: list[LimitScope], ticket: str) -> None: ...


class LocalLimiter:
    """Counts in this process (embedded mode): a few dictionary operations under a lock, never waiting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = {}
        self._running: dict[str, dict[str, float]] = {}

    async def acquire(self, scopes: list[LimitScope], ticket: str, hold_seconds: float) -> None:
        now = time.monotonic()
        with self._lock:
            for scope in scopes:
                calls = self._calls.setdefault(scope.key, deque())
                while calls and calls[0] <= now - WINDOW_SECONDS:
                    calls.popleft()
                running = self._running.setdefault(scope.key, {})
                for held, until in list(running.items()):
                    if until <= now:
                        del running[held]
                if scope.calls_per_minute and len(calls) >= scope.calls_per_minute:
                    frees_at = calls[len(calls) - scope.calls_per_minute] + WINDOW_SECONDS
                    raise LimitExceeded(scope, "calls_per_minute", max(0.0, frees_at - now))
                if scope.max_concurrent_runs and len(running) >= scope.max_concurrent_runs:
                    raise LimitExceeded(scope, "max_concurrent_runs", None)
            for scope in scopes:
                self._calls[scope.key].append(now)
                self._running[scope.key][ticket] = now + hold_seconds

    async def release(self, scopes: list[LimitScope], ticket: str) -> None:
        with self._lock:
            for scope in scopes:
                self._running.get(scope.key, {}).pop(ticket, None)


# KEYS: a (calls, running) pair of sorted sets per scope. ARGV: window, ticket, hold, then per scope
# (calls per minute, max concurrent). Returns {0} when admitted, else {scope number, limit, retry after}.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window, ticket, hold = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local n = #KEYS / 2
for i = 1, n do
  local calls, running = KEYS[2 * i - 1], KEYS[2 * i]
  local rate, conc = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', calls, '-inf', now - window)
  redis.call('ZREMRANGEBYSCORE', running, '-inf', now)
  if rate > 0 then
    local count = redis.call('ZCARD', calls)
    if count >= rate then
      local frees = redis.call('ZRANGE', calls, count - rate, count - rate, 'WITHSCORES')
      return {i, 'calls_per_minute', tostring(tonumber(frees[2]) + window - now)}
    end
  end
  if conc > 0 and redis.call('ZCARD', running) >= conc then
    return {i, 'max_concurrent_runs', ''}
  end
end
for i = 1, n do
  local calls, running = KEYS[2 * i - 1], KEYS[2 * i]
  redis.call('ZADD', calls, now, ticket)
  redis.call('PEXPIRE', calls, math.ceil(window * 1000) + 1000)
  redis.call('ZADD', running, now + hold, ticket)
  redis.call('PEXPIRE', running, math.ceil(hold * 1000) + 1000)
end
return {0}
"""


class RedisLimiter:
    """Counts in Redis, shared by every API process of one deployment (`namespace`) using the same server.

    Asynchronous: a call's check is one awaited round trip on the event loop, not a hop to a thread and back.
    Connections belong to the loop that opened them, so each event loop gets its own client.
    """

    def __init__(self, url: str, namespace: str) -> None:
        self._url = url
        self._prefix = f"{KEY_PREFIX}{namespace}:"
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, Any]] = (
            weakref.WeakKeyDictionary()
        )

    def _client(self) -> tuple[Any, Any]:
        """This loop's client and its registered acquire script."""
        loop = asyncio.get_running_loop()
        found = self._clients.get(loop)
        if found is None:
            import redis.asyncio as aioredis

            client = aioredis.Redis.from_url(self._url, socket_timeout=5, socket_connect_timeout=5)
            found = self._clients[loop] = (client, client.register_script(_ACQUIRE))
        return found

    def _keys(self, scopes: list[LimitScope]) -> list[str]:
        return [f"{self._prefix}{kind}:{scope.key}" for scope in scopes for kind in ("calls", "running")]

    async def acquire(self, scopes: list[LimitScope], ticket: str, hold_seconds: float) -> None:
        if not scopes:
            return
        args: list[Any] = [WINDOW_SECONDS, ticket, hold_seconds]
        for scope in scopes:
            args += [scope.calls_per_minute, scope.max_concurrent_runs]
        _, script = self._client()
        answer = await script(keys=self._keys(scopes), args=args)
        if int(answer[0]) == 0:
            return
        scope = scopes[int(answer[0]) - 1]
        limit = answer[1].decode() if isinstance(answer[1], bytes) else str(answer[1])
        raw = answer[2].decode() if isinstance(answer[2], bytes) else str(answer[2])
        raise LimitExceeded(scope, limit, float(raw) if raw else None)

    async def release(self, scopes: list[LimitScope], ticket: str) -> None:
        if not scopes:
            return
        client, _ = self._client()
        async with client.pipeline(transaction=False) as pipe:
            for scope in scopes:
                pipe.zrem(f"{self._prefix}running:{scope.key}", ticket)
            await pipe.execute()


@lru_cache(maxsize=4)
def get_limiter(url: str, namespace: str) -> LocalLimiter | RedisLimiter:
    """One limiter per URL per process: Redis for a redis:// URL (keys under `namespace`, so deployments sharing
    a Redis server keep their counts apart), else in memory."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisLimiter(url, namespace)
    return LocalLimiter()


def new_ticket() -> str:
    """A unique id for one admitted call."""
    return uuid.uuid4().hex

