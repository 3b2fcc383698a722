"""Where the events of a call's SSE stream are kept, so a client that lost the stream can resume it anywhere.

Every message written on a resumable call stream is appended here and gets an event id; a client that
reconnects with `Last-Event-ID` (through any API process) reads what followed that id, then follows the
stream live until the call's last event. In production the events are a Redis stream per call, shared by every
API process; in embedded mode (one process) they are kept in memory. A stream lives while its call runs (its
expiry is pushed forward on every event, bounded by the run timeout) and for a short grace period after its end.

Event ids are `<stream token>.<position>`: the token has 128 random bits, and the stream records its owner (a
digest of the signed session it was opened in), so an id can neither be guessed nor replayed by another client.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, Protocol

import anyio

KEY_PREFIX = "toolpress:sse:"
_TOKEN_BYTES = 16
_EVENT_ID = re.compile(r"^([A-Za-z0-9_-]{20,64})\.(\d{1,20}-\d{1,20})$")
_END = "end"  # the field (Redis) / marker of a stream's last entry
_SOCKET_TIMEOUT = 30.0  # seconds a Redis command may take (blocking reads included)

Role = Literal["writer", "reader"]  # who keeps a stream alive: the call writing it, a client resuming it


@dataclass(frozen=True)
class StoredEvent:
    """One event of a stream: its id and its data (None for the priming event, which carries no message)."""

    event_id: str
    data: str | None


def parse_event_id(event_id: str) -> tuple[str, str] | None:
    """(stream token, position) of an id this server issued, or None when it is not one."""
    match = _EVENT_ID.match(event_id.strip())
    return (match.group(1), match.group(2)) if match else None


class CallEventStore(Protocol):
    """The events of resumable call streams: appended by the process serving the call, read by any process."""

    async def open(self, owner: str, request_id: str | None, writer_seconds: float) -> tuple[str, str]:
        """Start a stream owned by `owner` answering `request_id` (JSON), with its priming event, its writer marked
        alive for `writer_seconds` (see `mark`; 0: not marked); return its token and the priming event's id.

        One round trip. It expires the store's ttl after its latest event.
        """
        ...

    async def append(self, token: str, data: str, last_grace: float | None = None) -> str:
        """Append an event and return its id; with `last_grace` it is the stream's last (one round trip for both,
        as `append` then `finish(token, last_grace)`)."""
        ...

    async def finish(self, token: str, grace: float) -> None:
        """Mark the stream complete; it can still be replayed for `grace` seconds."""
        ...

    async def owner(self, token: str) -> str | None:
        """The owner of a live stream, or None when there is no such stream (never opened, or expired)."""
        ...

    async def request_id(self, token: str) -> str | None:
        """The id (JSON) of the request the stream answers, or None."""
        ...

    async def mark(self, token: str, role: Role, seconds: float) -> None:
        """Note that the stream's writer (the call) or a reader (a resumption) is alive for the next `seconds`."""
        ...

    async def marked(self, token: str, role: Role) -> bool:
        """Whether the writer or a reader has been alive lately (see `mark`)."""
        ...

    def follow(self, token: str, after: str, wait: float) -> AsyncIterator[StoredEvent | None]:
        """The events after position `after`, then new ones as they come, until the stream's end.

        Yields None after `wait` quiet seconds (so the reader can send a keep-alive); ends when the stream is
        complete or has expired.
        """
        ...


def _new_token() -> str:
    return secrets.token_urlsafe(_TOKEN_BYTES)


# A stream's writes as scripts: one round trip each, atomic, and far less client work than a MULTI pipeline.
_OPEN = """
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'request', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local position = redis.call('XADD', KEYS[2], '*', 'p', '')
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[3], 1, 'PX', ARGV[4]) end
return position
"""
# ARGV: data, expiry in ms, what to write: 0 the event, 1 the event and then the end, 2 only the end
_APPEND = """
local position = ''
if ARGV[3] ~= '2' then position = redis.call('XADD', KEYS[1], '*', 'd', ARGV[1]) end
if ARGV[3] ~= '0' then redis.call('XADD', KEYS[1], '*', 'end', '') end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return position
"""


class RedisCallEventStore:
    """One Redis stream per call (`toolpress:sse:<token>`), with the owner and request id in the hash `…:meta`."""

    def __init__(self, url: str, ttl: float) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url, socket_timeout=_SOCKET_TIMEOUT)
        self._ttl_ms = int(ttl * 1000)
        self._open = self._redis.register_script(_OPEN)
        self._append = self._redis.register_script(_APPEND)

    def _key(self, token: str) -> str:
        return KEY_PREFIX + token

    async def open(self, owner: str, request_id: str | None, writer_seconds: float) -> tuple[str, str]:
        token = _new_token()
        key = self._key(token)
        position = await self._open(keys=[key + ":meta", key, f"{key}:writer"],
                                    args=[owner, request_id or "", self._ttl_ms, int(writer_seconds * 1000)])
        return token, f"{token}.{position.decode()}"

    async def append(self, token: str, data: str, last_grace: float | None = None) -> str:
        position = await self._write(token, data, 0 if last_grace is None else 1, last_grace)
        return f"{token}.{position.decode()}"

    async def finish(self, token: str, grace: float) -> None:
        await self._write(token, "", 2, grace)

    async def _write(self, token: str, data: str, what: int, last_grace: float | None) -> bytes:
        key = self._key(token)
        expires_ms = self._ttl_ms if last_grace is None else int(last_grace * 1000)
        return await self._append(keys=[key, key + ":meta"], args=[data, expires_ms, what])

    async def owner(self, token: str) -> str | None:
        found = await self._redis.hget(self._key(token) + ":meta", "owner")
        return found.decode() if found is not None else None

    async def request_id(self, token: str) -> str | None:
        found = await self._redis.hget(self._key(token) + ":meta", "request")
        return found.decode() or None if found is not None else None

    async def mark(self, token: str, role: Role, seconds: float) -> None:
        await self._redis.set(f"{self._key(token)}:{role}", 1, px=int(seconds * 1000))

    async def marked(self, token: str, role: Role) -> bool:
        return bool(await self._redis.exists(f"{self._key(token)}:{role}"))

    async def follow(self, token: str, after: str, wait: float) -> AsyncIterator[StoredEvent | None]:
        key = self._key(token)
        while True:
            block = min(wait, _SOCKET_TIMEOUT / 2)  # a blocking read must end before the socket times out
            answer = await self._redis.xread({key: after}, count=100, block=int(block * 1000))
            if not answer:
                if not await self._redis.exists(key + ":meta"):
                    return  # expired while we waited
                yield None
                continue
            for position, fields in answer[0][1]:
                after = position.decode()
                if _END.encode() in fields:
                    return
                data = fields.get(b"d")
                yield StoredEvent(f"{token}.{after}", data.decode() if data is not None else None)


@dataclass
class _MemoryStream:
    owner: str
    expires: float
    events: list[tuple[int, str | None]] = field(default_factory=list)
    request: str | None = None
    ended: bool = False
    changed: anyio.Event = field(default_factory=anyio.Event)
    alive_until: dict[str, float] = field(default_factory=dict)

    def touch(self, ttl: float) -> None:
        self.expires = time.monotonic() + ttl
        self.changed.set()
        self.changed = anyio.Event()


class MemoryCallEventStore:
    """The embedded mode's store: streams in this process's memory, swept of expired ones as new ones open
    (at most every SWEEP_SECONDS: a finished stream is kept for minutes, so thousands may be held)."""

    SWEEP_SECONDS = 1.0

    def __init__(self, ttl: float) -> None:
        self._streams: dict[str, _MemoryStream] = {}
        self._ttl = ttl
        self._swept_at = 0.0

    def _live(self, token: str) -> _MemoryStream | None:
        stream = self._streams.get(token)
        if stream is not None and stream.expires < time.monotonic():
            del self._streams[token]
            return None
        return stream

    async def open(self, owner: str, request_id: str | None, writer_seconds: float) -> tuple[str, str]:
        now = time.monotonic()
        if now - self._swept_at >= self.SWEEP_SECONDS:  # an expired stream not swept yet is unreadable all the same
            self._swept_at = now
            for token in [t for t, s in self._streams.items() if s.expires < now]:
                del self._streams[token]
        token = _new_token()
        self._streams[token] = _MemoryStream(owner=owner, expires=now + self._ttl, request=request_id)
        await self.mark(token, "writer", writer_seconds)
        return token, self._add(token, None)

    async def append(self, token: str, data: str, last_grace: float | None = None) -> str:
        event_id = self._add(token, data)
        if last_grace is not None:
            await self.finish(token, last_grace)
        return event_id

    def _add(self, token: str, data: str | None) -> str:
        stream = self._live(token)
        if stream is None:
            raise KeyError("the stream has expired")
        position = len(stream.events) + 1
        stream.events.append((position, data))
        stream.touch(self._ttl)
        return f"{token}.{position}-0"

    async def finish(self, token: str, grace: float) -> None:
        stream = self._live(token)
        if stream is not None:
            stream.ended = True
            stream.touch(grace)

    async def owner(self, token: str) -> str | None:
        stream = self._live(token)
        return stream.owner if stream is not None else None

    async def request_id(self, token: str) -> str | None:
        stream = self._live(token)
        return stream.request if stream is not None else None

    async def mark(self, token: str, role: Role, seconds: float) -> None:
        stream = self._live(token)
        if stream is not None:
            stream.alive_until[role] = time.monotonic() + seconds

    async def marked(self, token: str, role: Role) -> bool:
        stream = self._live(token)
        return stream is not None and stream.alive_until.get(role, 0.0) > time.monotonic()

    async def follow(self, token: str, after: str, wait: float) -> AsyncIterator[StoredEvent | None]:
        seen = int(after.split("-", 1)[0])
        while True:
            stream = self._live(token)
            if stream is None:
                return
            for position, data in stream.events[seen:]:
                seen = position
                yield StoredEvent(f"{token}.{position}-0", data)
            if stream.ended:
                return
            changed = stream.changed
            with anyio.move_on_after(wait) as quiet:
                await changed.wait()
            if quiet.cancelled_caught:
                yield None


@lru_cache(maxsize=4)
def get_call_event_store(url: str, ttl: float) -> RedisCallEventStore | MemoryCallEventStore:
    """The store for the events backend URL (`settings.events_backend_url`), one per process.

    `ttl`: how long a stream is kept after its latest event while its call runs (the run timeout and a margin).
    """
    if url.startswith("memory://"):
        return MemoryCallEventStore(ttl)
    return RedisCallEventStore(url, ttl)
