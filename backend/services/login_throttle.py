"""Log-in throttling: failed attempts counted per (account, address) pair, per address and per account.

- Pair: PAIR_FAILURES failures of one account from one client address within WINDOW lock that pair until
  the oldest of them ages out. One address cannot guess one account's password at speed.
- Address: `settings.login_failures_per_address` failures from one address, over all accounts, within
  WINDOW lock that address the same way. One address cannot spray many accounts.
- Account: from ACCOUNT_FREE failures of one account within ACCOUNT_WINDOW, from any addresses, each
  further attempt waits a growing delay after the last failure (15 s, 30 s, 1 min, … 15 min at most). Many
  addresses cannot guess one account at speed either. This is the one lock an attacker could hold over a
  victim's account, so a *known client* skips it: one carrying a signed cookie from an earlier successful
  log-in to that account (it still counts toward, and obeys, the other two). The owner is therefore never
  locked out from a browser they used before, and from anywhere else waits at most 15 minutes per attempt
  while an attack lasts; the count drains an hour after it stops.

Client addresses come from the connection, or from `X-Forwarded-For` only when the connection comes from a
proxy in `settings.trusted_proxies` (see `toolpress serve`), so a client cannot pick its own.

Each attempt is counted as a failure *before* the password is checked, and taken back when it was right, so
guesses sent at the same moment cannot all slip past the limit before the first one is counted. Counts live
in Redis when the call limits do (every API process shares them, on Redis's clock), else in this process; if
Redis cannot be reached, this process's own counts are used meanwhile.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from backend.core.settings import Settings
from backend.services.errors import ServiceError

logger = logging.getLogger(__name__)

WINDOW = 900.0
PAIR_FAILURES = 5
ACCOUNT_WINDOW = 3600.0
ACCOUNT_FREE = 5
ACCOUNT_DELAY = 15.0
ACCOUNT_MAX_DELAY = 900.0
KEY_PREFIX = "toolpress:login:"


@dataclass(frozen=True)
class LoginAttempt:
    """One log-in attempt: whose account (normalised e-mail), from which address, and by a known client or not."""

    account: str
    address: str
    known: bool = False
    member: str = field(default_factory=lambda: uuid.uuid4().hex)

    def keys(self) -> tuple[str, str, str]:
        """The pair, address and account counters (the e-mail hashed, so no address book sits in Redis)."""
        account = hashlib.sha256(self.account.encode()).hexdigest()[:32]
        return f"pair:{account}:{self.address}", f"address:{self.address}", f"account:{account}"


class LoginRefused(ServiceError):
    """Too many failed log-ins; `retry_after` in whole seconds, `scope` pair, address or account."""

    def __init__(self, retry_after: float, scope: str) -> None:
        self.retry_after, self.scope = max(1, math.ceil(retry_after)), scope
        whose = {"pair": "for this account from your address", "address": "from your address",
                 "account": "for this account"}[scope]
        hint = " (a browser that logged in to it before is not held up)" if scope == "account" else ""
        super().__init__(f"too many failed log-ins {whose}; try again in {self.retry_after} s{hint}")


def account_delay(failures: int) -> float:
    """How long after the last failure an account with this many recent failures accepts another attempt."""
    if failures < ACCOUNT_FREE:
        return 0.0
    return min(ACCOUNT_MAX_DELAY, ACCOUNT_DELAY * 2 ** (failures - ACCOUNT_FREE))


class LoginThrottle(Protocol):
    """Admit (and count) a log-in attempt or refuse it; take the count back when the password was right."""

    def admit(self, attempt: LoginAttempt) -> None: ...

    def succeeded(self, attempt: LoginAttempt) -> None: ...


class LocalLoginThrottle:
    """Counts in this process (the embedded mode, and the fallback while Redis is away)."""

    def __init__(self, per_address: int, max_keys: int = 100_000) -> None:
        self.per_address, self.max_keys = per_address, max_keys
        self._times: dict[str, deque[tuple[float, str]]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, window: float, now: float) -> deque[tuple[float, str]]:
        times = self._times.get(key, deque())
        while times and times[0][0] <= now - window:
            times.popleft()
        return times

    def admit(self, attempt: LoginAttempt) -> None:
        pair, address, account = attempt.keys()
        now = time.monotonic()
        with self._lock:
            for key, limit in ((pair, PAIR_FAILURES), (address, self.per_address)):
                times = self._recent(key, WINDOW, now)
                if limit and len(times) >= limit:
                    raise LoginRefused(times[len(times) - limit][0] + WINDOW - now, "pair" if key == pair else "address")
            times = self._recent(account, ACCOUNT_WINDOW, now)
            wait = times[-1][0] + account_delay(len(times)) - now if times else 0.0
            if not attempt.known and wait > 0:
                raise LoginRefused(wait, "account")
            for key in (pair, address, account):
                self._times.setdefault(key, deque()).append((now, attempt.member))
            while len(self._times) > self.max_keys:
                self._times.pop(next(iter(self._times)))

    def succeeded(self, attempt: LoginAttempt) -> None:
        pair, address, account = attempt.keys()
        with self._lock:
            self._times.pop(pair, None)
            if not attempt.known:
                self._times.pop(account, None)
            for key in (address, account):
                times = self._times.get(key)
                if times:
                    self._times[key] = deque(t for t in times if t[1] != attempt.member)


# KEYS: pair, address, account. ARGV: member, window, pair limit, address limit, account window, free failures,
# first delay, longest delay, known (1/0). Returns {wait, scope} when refused, else {"0", ""} (and counts it).
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local member, window = ARGV[1], tonumber(ARGV[2])
local limits = {tonumber(ARGV[3]), tonumber(ARGV[4])}
local account_window, free = tonumber(ARGV[5]), tonumber(ARGV[6])
local first, longest, known = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9] == '1'
local scopes = {'pair', 'address'}
for i = 1, 2 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[i])
  if limits[i] > 0 and count >= limits[i] then
    local oldest = redis.call('ZRANGE', KEYS[i], count - limits[i], count - limits[i], 'WITHSCORES')
    return {tostring(tonumber(oldest[2]) + window - now), scopes[i]}
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - account_window)
local failures = redis.call('ZCARD', KEYS[3])
if not known and failures >= free then
  local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
  local wait = tonumber(last[2]) + math.min(longest, first * 2 ^ (failures - free)) - now
  if wait > 0 then
    return {tostring(wait), 'account'}
  end
end
for i = 1, 3 do
  redis.call('ZADD', KEYS[i], now, member)
  redis.call('PEXPIRE', KEYS[i], math.ceil((i == 3 and account_window or window) * 1000) + 1000)
end
return {'0', ''}
"""


class RedisLoginThrottle:
    """Counts in Redis, shared by every API process of one deployment (`namespace`)."""

    def __init__(self, url: str, namespace: str, per_address: int) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._admit = self._client.register_script(_ADMIT)
        self._prefix = f"{KEY_PREFIX}{namespace}:"
        self.per_address = per_address
        self._fallback = LocalLoginThrottle(per_address)

    def _keys(self, attempt: LoginAttempt) -> list[str]:
        return [self._prefix + key for key in attempt.keys()]

    def admit(self, attempt: LoginAttempt) -> None:
        args: list[Any] = [attempt.member, WINDOW, PAIR_FAILURES, self.per_address, ACCOUNT_WINDOW, ACCOUNT_FREE,
                           ACCOUNT_DELAY, ACCOUNT_MAX_DELAY, 1 if attempt.known else 0]
        try:
            wait, scope = self._admit(keys=self._keys(attempt), args=args)
        except Exception as exc:  # the shared counts are away: count in this process meanwhile
            logger.warning("log-in limits could not be checked in Redis (%s); counting in this process", type(exc).__name__)
            self._fallback.admit(attempt)
            return
        scope = scope.decode() if isinstance(scope, bytes) else str(scope)
        if scope:
            raise LoginRefused(float(wait), scope)

    def succeeded(self, attempt: LoginAttempt) -> None:
        pair, address, account = self._keys(attempt)
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.delete(pair)
            pipe.delete(account) if not attempt.known else pipe.zrem(account, attempt.member)
            pipe.zrem(address, attempt.member)
            pipe.execute()
        except Exception as exc:
            logger.warning("log-in limits could not be updated in Redis (%s)", type(exc).__name__)
        self._fallback.succeeded(attempt)


@lru_cache(maxsize=4)
def _throttle(url: str, namespace: str, per_address: int) -> LocalLoginThrottle | RedisLoginThrottle:
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisLoginThrottle(url, namespace, per_address)
    return LocalLoginThrottle(per_address)


def get_login_throttle(settings: Settings) -> LocalLoginThrottle | RedisLoginThrottle:
    """The throttle of this deployment: in Redis where the call limits are counted, else in this process."""
    return _throttle(settings.limits_backend_url, settings.deployment_key(), settings.login_failures_per_address)
