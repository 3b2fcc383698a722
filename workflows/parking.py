"""Parking: a run stops cleanly at a step that needs the caller's input, and later resumes where it stopped.

Two step kinds ask the caller something the run cannot know: ``ask`` (a question for the human, MCP
elicitation) and ``llm`` with ``provider: client`` (the caller's own model, MCP sampling). Such a step
raises ``NeedsInput`` when the run has no answer for it yet. The engine then ends the run with that
exception, which carries the question and a ``ParkedState``: the results of the top-level steps that
finished, their trace and the progress counters. The host keeps both wherever it likes (Toolpress: the run
row), obtains the answer, and calls ``execute`` again with ``resume=`` the state and ``answer=`` the answer.
The engine restores the results and the trace, skips the finished steps (no HTTP request is sent twice)
and hands the answer to the step that asked.

Parking steps may only appear at the top level of an app (the spec checks refuse them inside containers),
so "the finished steps" is always a prefix of the top-level list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from workflows.results import StepTrace

__all__ = ["NeedsInput", "ParkedState", "Question", "QuestionKind"]

QuestionKind = Literal["elicit", "sample"]
DEFAULT_WAIT_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class Question:
    """What a parked step asks: ``elicit`` params (message, requestedSchema) or ``sample`` params (messages…).

    ``params`` is already the MCP request's params (``elicitation/create`` / ``sampling/createMessage``);
    ``timeout`` is how long (seconds) the host may wait for the answer before ending the run.
    """

    step_id: str
    kind: QuestionKind
    params: dict[str, Any]
    timeout: float = DEFAULT_WAIT_SECONDS

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {"step_id": self.step_id, "kind": self.kind, "params": self.params, "timeout": self.timeout}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Question:
        """The inverse of ``to_dict``."""
        return cls(step_id=str(data["step_id"]), kind=data["kind"], params=dict(data["params"]),
                   timeout=float(data.get("timeout", DEFAULT_WAIT_SECONDS)))


def _trace_entry(data: dict[str, Any]) -> StepTrace:
    """A StepTrace back from its ``to_dict`` form."""
    times = {key: datetime.fromisoformat(data[key]) if data.get(key) else None for key in ("started_at", "ended_at")}
    return StepTrace(step_id=data["step_id"], type=data["type"], status=data["status"], duration_ms=data.get("duration_ms"),
                     input=data.get("input"), output=data.get("output"), error=data.get("error"),
                     parent=data.get("parent"), logs=data.get("logs"), **times)


@dataclass(slots=True)
class ParkedState:
    """A parked run: the finished top-level steps' results, their trace and the progress counters."""

    results: dict[str, Any] = field(default_factory=dict)
    trace: list[dict[str, Any]] = field(default_factory=list)
    done: int = 0
    total: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (what the host stores)."""
        return {"results": self.results, "trace": self.trace, "done": self.done, "total": self.total}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ParkedState:
        """The inverse of ``to_dict``; a missing key reads as empty."""
        return cls(results=dict(data.get("results") or {}), trace=list(data.get("trace") or []),
                   done=int(data.get("done") or 0), total=int(data.get("total") or 0))

    def restored_trace(self) -> list[StepTrace]:
        """The saved trace as StepTrace entries."""
        return [_trace_entry(entry) for entry in self.trace]


class NeedsInput(Exception):  # noqa: N818 - an outcome, not an error
    """A step needs the caller's answer: the run stops here; ``state`` is filled in by the engine.

    Deliberately outside the ``WorkflowError`` tree: it is not a failure. A step of a called app cannot park
    the calling run; there the engine reports it as the calling step's failure, with this message.
    """

    def __init__(self, question: Question) -> None:
        self.question = question
        self.state = ParkedState()
        self.origin: object = None  # the engine run that asked (set by the engine)
        super().__init__(f"step '{question.step_id}' of the called app asks the caller, which an app called by "
                         "another app cannot do")
