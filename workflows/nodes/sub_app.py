"""The ``sub_app`` node: call another app through a callback the host supplies (cycle-safe)."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pydantic import Field

from workflows.errors import NodeFailure, RunCancelled, WorkflowError
from workflows.nodes.base import Node, NodeConfig, NodeContext

__all__ = ["MAX_DEPTH", "CallApp", "SubAppCall", "SubAppConfig", "SubAppNode"]

MAX_DEPTH = 5


@dataclass(frozen=True, slots=True)
class SubAppCall:
    """What the engine hands the host's ``call_app`` callback.

    ``call_stack`` already ends with ``app``: pass it on as ``execute(..., call_stack=…)``
    when running the called app so cycles are caught at any depth. ``should_cancel`` and
    ``timeout`` (seconds left, or None) should be passed on too.
    """

    app: str
    inputs: dict[str, Any]
    call_stack: tuple[str, ...]
    should_cancel: Callable[[], bool]
    timeout: float | None


class CallApp(Protocol):
    """The host's callback: run app ``call.app`` with ``call.inputs``; return its outputs.

    Raise ``WorkflowError`` (e.g. ``NodeError``, ``InvalidInputs``) with a model-readable
    message on failure; the engine turns it into this step's error.
    """

    def __call__(self, call: SubAppCall) -> Mapping[str, Any]: ...


class SubAppConfig(NodeConfig):
    """Fields of a sub_app step: which app, and its inputs (templatable)."""

    app: str = Field(min_length=1, description="The called app's id (as the host knows it).")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Argument name → value.")


class SubAppNode(Node[SubAppConfig]):
    """Call another app as a step and use its outputs.

    The engine knows no database, so it only defines the protocol: the host passes
    ``call_app`` to ``execute`` and decides which apps a caller may reach (the same
    owner's), validates the arguments and runs the app, passing the extended call stack
    back into ``execute``. The engine refuses a call whose target is already on the stack
    (a cycle, reported as ``a → b → a``) or that would nest deeper than ``MAX_DEPTH``,
    before the callback runs. The call waits cancellably like HTTP. Result: ``outputs``.
    """

    type: ClassVar[str] = "sub_app"
    description: ClassVar[str] = "Call another app of the same owner with mapped inputs."
    Config: ClassVar[builtins.type[NodeConfig]] = SubAppConfig
    resolved_fields: ClassVar[tuple[str, ...]] = ("inputs",)
    result_fields: ClassVar[tuple[str, ...] | None] = ("outputs",)

    def run(self, config: SubAppConfig, ctx: NodeContext) -> dict[str, Any]:
        """Check the call stack, call the host's callback and return the called app's outputs."""
        call_app = ctx.service("call_app")
        if call_app is None:
            raise NodeFailure("this host does not support calling other apps")
        stack = tuple(ctx.service("call_stack") or ())
        if config.app in stack:
            raise NodeFailure(f"call cycle: {' → '.join((*stack, config.app))}")
        if len(stack) >= MAX_DEPTH:
            raise NodeFailure(f"apps may nest at most {MAX_DEPTH} calls deep")
        deadlines = [d for d in (ctx.deadline, ctx.service("deadline")) if d is not None]
        left = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        call = SubAppCall(app=config.app, inputs=dict(config.inputs), call_stack=(*stack, config.app),
                          should_cancel=ctx.cancelled, timeout=left)
        try:
            outputs = ctx.wait(lambda: call_app(call), what=f"app '{config.app}'")
        except RunCancelled:
            raise
        except WorkflowError as exc:
            raise NodeFailure(f"app '{config.app}' failed: {exc}") from None
        if not isinstance(outputs, Mapping):
            raise NodeFailure(f"app '{config.app}' returned {type(outputs).__name__}, expected outputs")
        return {"outputs": dict(outputs)}
