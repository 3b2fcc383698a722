"""Log-in rate limiting: failed attempts per (account, client address), kept in process memory."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

__all__ = ["LoginThrottle", "login_throttle"]


class LoginThrottle:
    """After `max_failures` failed log-ins within `window` seconds, refuse that (account, address) pair until
    the oldest failure leaves the window.

    Keyed by account *and* address so an attacker cannot lock a victim out from everywhere, and one address
    cannot try passwords on an account at full speed. A success clears the pair. Counts live in this process
    only: with N API processes an attacker gets at most N times the budget, which still turns an online
    guessing attack from thousands of tries a second into a handful per quarter hour.
    """

    def __init__(self, max_failures: int = 5, window: float = 900.0, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures, self.window, self.max_keys, self._clock = max_failures, window, max_keys, clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(email: str, address: str | None) -> tuple[str, str]:
        """The throttle key of a log-in attempt."""
        return email.strip().lower(), address or "-"

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, key: tuple[str, str]) -> int | None:
        """Seconds until this pair may try again, or None when it may try now."""
        with self._lock:
            now = self._clock()
            times = self._recent(key, now)
            if len(times) < self.max_failures:
                return None
            return max(1, math.ceil(times[0] + self.window - now))

    def failed(self, key: tuple[str, str]) -> None:
        """Record a failed attempt."""
        with self._lock:
            now = self._clock()
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, key: tuple[str, str]) -> None:
        """Forget the failures of a pair after a successful log-in."""
        with self._lock:
            self._failures.pop(key, None)


login_throttle = LoginThrottle()
