"""Step logs: messages a run's steps emit for the caller (MCP ``notifications/message``) and the trace.

A ``log`` step emits one at the level its builder picks; the HTTP and model steps note each request at
``debug``. The levels are those of RFC 5424 as MCP uses them, least severe first. Every message passes the
step's secret scrubbing before it leaves the engine, is cut to ``MAX_LOG_CHARS``, and a run emits at most
``MAX_LOGS_PER_RUN`` (one last entry says how many more were dropped), so a loop cannot flood the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["LOG_LEVELS", "MAX_LOGS_PER_RUN", "MAX_LOG_CHARS", "LogCallback", "LogEntry", "LogLevel", "at_least"]

LogLevel = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
LOG_LEVELS: tuple[LogLevel, ...] = get_args(LogLevel)
MAX_LOG_CHARS = 4000
MAX_LOGS_PER_RUN = 500


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One message a step emitted."""

    level: LogLevel
    message: str
    step_id: str

    def to_dict(self) -> dict[str, str]:
        """Return the JSON form the trace keeps."""
        return {"level": self.level, "message": self.message}


LogCallback = Callable[[LogEntry], None]


def at_least(level: str, minimum: str) -> bool:
    """Tell whether ``level`` is as severe as ``minimum`` or more (unknown levels count as ``info``)."""
    def rank(name: str) -> int:
        return LOG_LEVELS.index(name) if name in LOG_LEVELS else 1  # type: ignore[arg-type]

    return rank(level) >= rank(minimum)
