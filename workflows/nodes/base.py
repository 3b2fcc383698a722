"""The node-type interface: a ``type`` key, a pydantic ``Config`` model and one ``run`` method."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from workflows.spec import AppSpec, StepSpec

__all__ = ["Children", "Node", "NodeConfig", "NodeContext"]

T = TypeVar("T")


class NodeConfig(BaseModel):
    """Base of every node type's config model; unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


ConfigT = TypeVar("ConfigT", bound=NodeConfig)


@dataclass(frozen=True, slots=True)
class Children:
    """A nested step list of a container step, for load-time checks.

    ``path`` is the config key path (``branches[0].steps``), ``extra_names`` the root
    names its templates may use besides inputs/steps/secrets/context (``item``, ``index``).
    """

    path: str
    steps: Sequence[StepSpec]
    extra_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NodeContext:
    """What a running step can see: inputs, earlier step results, secrets and run services.

    ``runtime`` is the engine's run (None when a node is called directly in a unit test);
    node code reaches it only through the helper methods below.
    """

    step_id: str
    inputs: Mapping[str, Any]
    steps: Mapping[str, Mapping[str, Any]]
    context: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, Any] = field(default_factory=dict)
    extras: Mapping[str, Any] = field(default_factory=dict)
    runtime: Any = None
    deadline: float | None = None
    progress: bool = True
    sink: Any = None  # the trace list this step's nested steps append to
    logger: Callable[[str, str], None] | None = None  # the engine's log for this step (level, message)

    def variables(self) -> dict[str, Any]:
        """Return the names templates see: ``inputs``, ``steps``, ``secrets``, ``context`` (+ map extras)."""
        return {"inputs": self.inputs, "steps": self.steps, "secrets": self.secrets,
                "context": self.context, **self.extras}

    def wait(self, func: Callable[[], T], *, what: str) -> T:
        """Run blocking ``func`` while polling cancellation and the step/run deadline."""
        if self.runtime is None:
            return func()
        result: T = self.runtime.wait(func, deadline=self.deadline, what=what)
        return result

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early (with RunCancelled or a timeout) when the run is cancelled or late."""
        if self.runtime is not None:
            self.runtime.sleep(seconds, deadline=self.deadline)

    def run_steps(self, steps: Sequence[StepSpec], *, parent: str, extras: Mapping[str, Any] | None = None,
                  emit_progress: bool = True, trace: list[Any] | None = None) -> dict[str, Any]:
        """Run a nested step list in this step's scope; return the nested results by step id."""
        if self.runtime is None:
            raise RuntimeError("nested steps need the engine; call execute()")
        results: dict[str, Any] = self.runtime.run_nested(
            self, steps, parent=parent, extras=dict(extras or {}), emit_progress=emit_progress, trace=trace)
        return results

    def grow_total(self, count: int) -> None:
        """Tell the run that ``count`` more steps or items will run (only where progress is reported)."""
        if self.runtime is not None and self.progress:
            self.runtime.grow_total(count)

    def report(self, label: str) -> None:
        """Report one finished unit of work (a map item) with a label."""
        if self.runtime is not None and self.progress:
            self.runtime.emit(label, self.step_id)

    def log(self, level: str, message: str) -> None:
        """Emit a log message (``workflows.logs``): to the caller and into this step's trace entry."""
        if self.logger is not None:
            self.logger(level, message)

    def ask_caller(self, question: Any) -> Any:
        """The caller's answer to ``question`` (a ``workflows.parking.Question``); without one the run parks."""
        if self.runtime is None:
            raise RuntimeError("asking the caller needs the engine; call execute()")
        return self.runtime.answer(question)

    def finish(self, outputs: Mapping[str, Any]) -> None:
        """End the run after this step with these (already checked) outputs; later steps are skipped."""
        if self.runtime is not None and self.runtime.outputs is None:
            self.runtime.outputs = dict(outputs)

    def cancelled(self) -> bool:
        """Tell whether the run was cancelled."""
        return self.runtime is not None and bool(self.runtime.cancelled())

    def record_skipped(self, steps: Sequence[StepSpec]) -> None:
        """Record nested steps that will not run (untaken branches) in the trace."""
        if self.runtime is not None:
            from workflows.results import StepTrace  # noqa: PLC0415 - results imports nothing of nodes

            sink = self.sink if self.sink is not None else self.runtime.trace
            sink.extend(StepTrace(step_id=s.id, type=s.type, status="skipped", parent=self.step_id) for s in steps)

    def service(self, name: str) -> Any:
        """Return a run service passed to execute (``http_allow``, ``call_app``, ``call_stack``…)."""
        return None if self.runtime is None else getattr(self.runtime, name, None)


class Node(ABC, Generic[ConfigT]):
    """A step type.

    Node types are data: the engine looks them up by ``type`` in the registry, validates a
    step's fields with ``Config``, checks the fields named in ``template_fields`` and
    ``resolved_fields`` for references at load time, resolves ``resolved_fields`` before
    ``run`` (so the trace shows resolved input), and calls ``run``. It never checks
    concrete classes, so a new node type is one module plus one registry entry. ``run``
    signals an expected failure by raising ``NodeFailure`` with a reason a model can act on.
    """

    type: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[builtins.type[NodeConfig]]
    template_fields: ClassVar[tuple[str, ...]] = ()
    """Fields the node renders itself (templates kept as text until ``run``)."""
    resolved_fields: ClassVar[tuple[str, ...]] = ()
    """Fields whose template strings (at any depth) the engine evaluates before ``run``."""
    result_fields: ClassVar[tuple[str, ...] | None] = None
    """The keys ``run`` may return; references to other keys are rejected at load time."""
    expected_types: ClassVar[dict[str, tuple[str, ...]]] = {}
    """Field → input types a single ``{{ inputs.x }}`` reference there must have."""
    terminal: ClassVar[bool] = False
    """A terminal step ends the run; steps after it in the same list are unreachable."""
    secret_sinks: ClassVar[tuple[str, ...]] = ()
    """Fields that send what they hold to another system, the only places a spec may use ``secrets``
    (``workflows.secret_flow``); each must be one of ``resolved_fields``."""
    secret_destination: ClassVar[str | None] = None
    """The field naming where a step that sends a secret sends it (its URL); its host must be fixed."""
    may_park: ClassVar[bool] = False
    """Whether ``parks`` can say yes for some config: hosts skip validating the other steps' configs."""

    @classmethod
    def parks(cls, config: NodeConfig) -> bool:
        """Whether the step may stop the run to wait for the caller (``workflows.parking``): top level only."""
        return False

    @classmethod
    def children(cls, config: NodeConfig) -> list[Children]:
        """Return the nested step lists of a container step (none by default)."""
        return []

    @classmethod
    def check(cls, config: NodeConfig, spec: AppSpec) -> list[tuple[str, str]]:
        """Return node-specific load-time problems as ``(field path, message)`` pairs."""
        return []

    @classmethod
    def templates(cls, raw: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Return ``(field path, template)`` for every template in a raw config, for load-time checks.

        By default every template string under ``template_fields`` and ``resolved_fields``;
        containers override this so nested steps are checked in their own scope.
        """
        from workflows.references import template_strings  # noqa: PLC0415 - avoids an import cycle

        found: list[tuple[str, str]] = []
        for name in (*cls.template_fields, *cls.resolved_fields):
            found += template_strings(raw.get(name), name)
        return found

    @classmethod
    def referenced_steps(cls, config: NodeConfig) -> list[str]:
        """Return step ids the config reads outside templates (JMESPath paths); checked at load time."""
        return []

    @abstractmethod
    def run(self, config: ConfigT, ctx: NodeContext) -> dict[str, Any]:
        """Run the step and return its result mapping (JSON-safe)."""
