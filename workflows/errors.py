"""The engine's exception tree and the issue records its errors carry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflows.results import StepTrace

__all__ = [
    "InputIssue",
    "InvalidInputs",
    "NodeError",
    "NodeFailure",
    "RunCancelled",
    "RunTimedOut",
    "SpecError",
    "SpecIssue",
    "WorkflowError",
]


@dataclass(frozen=True, slots=True)
class SpecIssue:
    """One problem in an app spec, located by a path such as ``inputs[1].default``."""

    path: str
    message: str
    step: str | None = None

    def __str__(self) -> str:
        where = f" (step '{self.step}')" if self.step else ""
        return f"{self.path}{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class InputIssue:
    """One problem in call arguments, located by a path such as ``days`` or ``tags[0]``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class WorkflowError(Exception):
    """Base class of every error the engine raises on purpose."""


class SpecError(WorkflowError):
    """The app spec is invalid; ``errors`` lists every issue found."""

    def __init__(self, errors: list[SpecIssue]) -> None:
        self.errors = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "invalid app spec:\n" + "\n".join(f"- {issue}" for issue in self.errors)


class InvalidInputs(WorkflowError):
    """The call arguments do not match the input schema; ``errors`` lists every violation."""

    def __init__(self, errors: list[InputIssue]) -> None:
        self.errors = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.errors)


class NodeError(WorkflowError):
    """A step (or the output stage, ``step_id="outputs"``) failed; ``trace`` holds the partial trace."""

    def __init__(self, step_id: str, message: str, *, trace: list[StepTrace] | None = None) -> None:
        self.step_id = step_id
        self.message = message
        self.trace: list[StepTrace] = list(trace or [])
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


class RunTimedOut(NodeError):
    """The run passed its time limit while ``step_id`` ran (a NodeError, so callers need no new branch)."""


class RunCancelled(WorkflowError):
    """The run was cancelled (between steps or while a step waited); ``trace`` holds what ran and was skipped."""

    def __init__(self, message: str = "run cancelled", *, trace: list[StepTrace] | None = None) -> None:
        self.trace: list[StepTrace] = list(trace or [])
        super().__init__(message)


class NodeFailure(Exception):
    """Raised inside node code with a model-readable reason; the engine wraps it in NodeError.

    Deliberately outside the ``WorkflowError`` tree: it never leaves the engine.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
