"""A run's last progress step, held back in the sandbox process to go out with the run's outcome.

Each progress message from a sandbox process becomes an event for the caller (through the supervisor, the bus,
then a notification). The step that completes the count (done = total) comes when the run's steps are all
done: the engine grows the count before a condition's branch or a map's items run, and a step is counted
once it ended, its nested steps included, so only the outputs are left to evaluate. Sent on its own, that step
would cost a message and an event a moment before the run's end. It is held back instead and travels in the
outcome message (``done``, ``failed`` or ``parked``, field ``progress``), so the caller gets both at once and in
order. Should anything else go out first (a log line, a question to the supervisor, another step), the held
step goes out before it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Progress = tuple[int, int, str | None]  # done, total, message


class HeldProgress:
    """The progress messages of one job: sent at once, except a step that completes the count."""

    def __init__(self) -> None:
        self.held: dict[str, Any] | None = None

    def step(self, done: int, total: int, message: str | None, send: Callable[[dict[str, Any]], None]) -> None:
        """One step's progress: sent now through `send`, or held when it completes the count."""
        self.before(send)
        progress = {"type": "progress", "done": done, "total": total, "message": message}
        if done >= total:
            self.held = progress
        else:
            send(progress)

    def before(self, send: Callable[[dict[str, Any]], None]) -> None:
        """Something else is about to go out: the held step goes first."""
        if self.held is not None:
            held, self.held = self.held, None
            send(held)

    def into(self, outcome: dict[str, Any]) -> dict[str, Any]:
        """The job's outcome message, carrying the held step (the caller lets go of it once that is sent)."""
        if self.held is None:
            return outcome
        return {**outcome, "progress": {key: self.held[key] for key in ("done", "total", "message")}}


def carried(outcome: dict[str, Any]) -> Progress | None:
    """The held step an outcome message carries, if it carries a well-formed one (the supervisor's side)."""
    progress = outcome.get("progress")
    if not isinstance(progress, dict):
        return None
    done, total, message = progress.get("done"), progress.get("total"), progress.get("message")
    if type(done) is not int or type(total) is not int or not (message is None or isinstance(message, str)):
        return None
    return done, total, message
