"""The ``condition`` node: if / elif / else branches, each a list of steps; only one branch runs."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, ClassVar

from jinja2 import meta
from pydantic import Field

from workflows.nodes.base import Children, Node, NodeConfig, NodeContext
from workflows.spec import AppSpec, StepSpec
from workflows.templating import evaluate, is_single_expression

__all__ = ["Branch", "ConditionConfig", "ConditionNode"]


class Branch(NodeConfig):
    """One ``if``/``elif`` arm: a ``when`` expression and the steps to run when it is truthy."""

    when: str = Field(min_length=1, description="One {{ expression }} over inputs, steps, secrets, context.")
    steps: list[StepSpec] = Field(default_factory=list)


class ConditionConfig(NodeConfig):
    """Fields of a condition step: ``branches`` tried in order, then optional ``else`` steps."""

    branches: list[Branch] = Field(min_length=1)
    else_: list[StepSpec] | None = Field(default=None, alias="else")


def _constant(source: str) -> bool | None:
    """Return the truth value of a ``when`` that references nothing, else None."""
    from workflows.templating import _parse  # noqa: PLC0415 - shares the parse cache

    try:
        if meta.find_undeclared_variables(_parse(source)):
            return None
        return bool(evaluate(source, {}))
    except Exception:  # noqa: BLE001 - not constant (or broken; reported elsewhere)
        return None


def _label(index: int | None, count: int) -> str:
    if index is None:
        return "none"
    if index == count:
        return "else"
    return "if" if index == 0 else f"elif {index}"


class ConditionNode(Node[ConditionConfig]):
    """Choose one branch of steps by testing expressions in order.

    Conditions are the same ``{{ expression }}`` syntax as every other reference, so a
    builder learns one language; each must be a single expression, and its truthiness
    (Jinja2/Python rules) decides. Only the taken branch runs; the steps of the other
    branches appear in the trace as ``skipped`` (parent = this step). Progress: the
    condition counts as one step up front; when it picks a branch, that branch's step
    count is added to ``total`` before those steps run, so every event after the choice
    carries the new total. Branch steps see everything before the condition and the earlier
    steps of their own branch; steps after the condition read the branch's results
    through this step's result: ``branch`` (``if``, ``elif 1``, ``else`` or ``none``),
    ``steps`` (results of the taken branch by id) and ``result`` (the last one, or null).
    Constant conditions that make a branch unreachable are rejected at load time.
    """

    type: ClassVar[str] = "condition"
    description: ClassVar[str] = "Run the first branch whose condition holds (if / elif / else)."
    Config: ClassVar[builtins.type[NodeConfig]] = ConditionConfig
    result_fields: ClassVar[tuple[str, ...] | None] = ("branch", "steps", "result")

    @classmethod
    def templates(cls, raw: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Return each branch's ``when`` (the nested steps are checked in their own scope)."""
        branches = raw.get("branches")
        if not isinstance(branches, list):
            return []
        return [(f"branches[{i}].when", b["when"]) for i, b in enumerate(branches)
                if isinstance(b, dict) and isinstance(b.get("when"), str)]

    @classmethod
    def children(cls, config: NodeConfig) -> list[Children]:
        """Return every branch's step list (and ``else``)."""
        assert isinstance(config, ConditionConfig)
        found = [Children(f"branches[{i}].steps", b.steps) for i, b in enumerate(config.branches)]
        if config.else_ is not None:
            found.append(Children("else", config.else_))
        return found

    @classmethod
    def check(cls, config: NodeConfig, spec: AppSpec) -> list[tuple[str, str]]:
        """Require single expressions; reject branches made unreachable by constant conditions."""
        assert isinstance(config, ConditionConfig)
        problems: list[tuple[str, str]] = []
        always: int | None = None
        for index, branch in enumerate(config.branches):
            where = f"branches[{index}].when"
            if always is not None:
                problems.append((where, f"unreachable: branch {_label(always, -1)} before it always runs"))
                continue
            if not is_single_expression(branch.when):
                problems.append((where, "must be a single {{ expression }}, e.g. {{ inputs.count > 3 }}"))
                continue
            constant = _constant(branch.when)
            if constant is False:
                problems.append((where, "unreachable: this condition is always false"))
            elif constant is True:
                always = index
        if always is not None and config.else_:
            problems.append(("else", f"unreachable: branch {_label(always, -1)} always runs"))
        return problems

    def run(self, config: ConditionConfig, ctx: NodeContext) -> dict[str, Any]:
        """Pick the first truthy branch, run its steps, record the others as skipped."""
        arms = [b.steps for b in config.branches] + [config.else_ or []]
        taken: int | None = None
        variables = ctx.variables()
        for index, branch in enumerate(config.branches):
            if evaluate(branch.when, variables):
                taken = index
                break
        else:
            taken = len(config.branches) if config.else_ is not None else None
        label = _label(taken, len(config.branches))
        results: dict[str, Any] = {}
        if taken is not None:
            ctx.grow_total(len(arms[taken]))
            results = ctx.run_steps(arms[taken], parent=ctx.step_id)
        skipped = [s for i, arm in enumerate(arms) if i != taken for s in arm]
        ctx.record_skipped(skipped)
        last = next(reversed(results.values()), None) if results else None
        return {"branch": label, "steps": results, "result": last}
