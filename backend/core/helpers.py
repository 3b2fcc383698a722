"""Helper tasks that a request starts beside its own work and that end with it, without an anyio task group.

A call's stream has a supervisor (backend.mcp.resumable) and may put a question to its client
(backend.mcp.questions), each a task beside the request's own. An anyio task group costs about 78 µs of CPU to
open, start one task in and cancel (its cancel scope also formats the task's repr on every cancel), against about
13 µs for a plain asyncio task: on every call that is worth having. The price is what a task group would do for
free, done here: a helper that fails is logged (nothing awaits it, so its failure does not end the request), and
the helpers still running when the request ends are cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class Helpers:
    """The helper tasks of one request: `start` them, `cancel` what is left when the request ends."""

    def __init__(self, what: str) -> None:
        self._what = what  # named in the log when a helper fails
        self._running: set[asyncio.Task[Any]] = set()

    def start(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` as a task of its own, from now until it returns or the request ends."""
        task = asyncio.get_running_loop().create_task(work)
        self._running.add(task)
        task.add_done_callback(self._ended)

    def cancel(self) -> None:
        """The request has ended: cancel every helper still running (each ends at its next await)."""
        for task in list(self._running):
            task.cancel()

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("a helper task of a %s failed", self._what, exc_info=error)
