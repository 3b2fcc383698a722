"""Records a run produces: progress events, per-step traces and the final result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["ProgressEvent", "RunResult", "StepStatus", "StepTrace"]

StepStatus = Literal["succeeded", "failed", "skipped", "cancelled"]


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Emitted after each completed step (or map item); ``done`` counts from 1 up to ``total``.

    ``total`` counts the steps known to run and grows when a condition picks its branch
    or a map learns its item count (see ``workflows.engine``).
    """

    done: int
    total: int
    message: str
    step_id: str


@dataclass(slots=True)
class StepTrace:
    """What one step did: resolved input (validated config), output or error, and timing.

    ``parent`` names the container of a nested step: the condition step's id, or
    ``<map id>[<index>]`` for a step run for one map item.
    """

    step_id: str
    type: str
    status: StepStatus
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_ms: float | None = None
    input: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    error: str | None = None
    parent: str | None = None
    logs: list[dict[str, str]] | dict[str, Any] | None = None  # what the step logged (a marker when cut)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (ISO 8601 timestamps)."""
        return {
            "step_id": self.step_id,
            "type": self.type,
            "status": self.status,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "duration_ms": self.duration_ms,
            "input": self.input,
            "output": self.output,
            "error": self.error,
            "parent": self.parent,
            **({"logs": self.logs} if self.logs else {}),
        }


@dataclass(slots=True)
class RunResult:
    """Typed outputs of a successful run plus the trace of every step."""

    outputs: dict[str, Any]
    trace: list[StepTrace] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        return {"outputs": self.outputs, "trace": [step.to_dict() for step in self.trace]}
