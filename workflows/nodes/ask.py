"""The ``ask`` node: ask the human behind the caller for input (MCP form elicitation), parking the run meanwhile."""

from __future__ import annotations

import builtins
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from workflows.elicit_schema import answer_problem, field_problems, requested_schema
from workflows.errors import NodeFailure
from workflows.nodes.base import Node, NodeConfig, NodeContext
from workflows.outputs import finish_outputs
from workflows.parking import Question
from workflows.references import resolve
from workflows.spec import AppSpec
from workflows.templating import render

__all__ = ["AskBranch", "AskConfig", "AskNode"]

MAX_WAIT_SECONDS = 7 * 24 * 3600.0


class AskBranch(NodeConfig):
    """What the run does when the human declines or cancels: go on, fail with a message, or end with outputs."""

    do: Literal["continue", "fail", "end"] = "continue"
    message: str | None = Field(default=None, description="fail: the error the caller sees (a template).")
    outputs: dict[str, Any] | None = Field(default=None, description="end: output name → value (templates).")

    @model_validator(mode="before")
    @classmethod
    def _from_word(cls, value: Any) -> Any:
        return {"do": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _complete(self) -> AskBranch:
        if self.do == "end" and self.outputs is None:
            raise ValueError("do: end needs outputs")
        return self


class AskConfig(NodeConfig):
    """Fields of an ask step."""

    message: str = Field(min_length=1, description="The question (a template).")
    fields: dict[str, Any] = Field(description="Field name → JSON Schema of a string, number, integer, boolean, "
                                               "enum or multi-select field (MCP form elicitation).")
    required: list[str] = Field(default_factory=list)
    on_decline: AskBranch = Field(default_factory=AskBranch)
    on_cancel: AskBranch = Field(default_factory=AskBranch)
    timeout: float = Field(default=600.0, gt=0, le=MAX_WAIT_SECONDS,
                           description="Seconds to wait for the answer; then the run fails saying so.")


def _defaults(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields' defaults: an accepted answer that leaves a field out takes its default (SEP-1034)."""
    return {name: prop["default"] for name, prop in fields.items() if isinstance(prop, dict) and "default" in prop}


class AskNode(Node[AskConfig]):
    """Ask the caller's human a question described by a small form, and go on with the answer.

    The run parks (``workflows.parking``) until the answer comes: a worker holds no slot meanwhile, and a
    host that gets no answer within ``timeout`` ends the run. On accept the answer is checked against the
    fields (a client must not send what was not asked for) and becomes ``content``; a field it leaves out
    takes its ``default``. On decline or cancel
    the builder's branch decides: ``continue`` (the result says what happened), ``fail`` with a message, or
    ``end`` the run with the given outputs. Result: ``action`` (accept, decline or cancel), ``accepted`` and
    ``content`` (the answer; empty unless accepted).
    """

    type: ClassVar[str] = "ask"
    may_park: ClassVar[bool] = True
    description: ClassVar[str] = "Ask the caller's human for input (a small form) and wait for the answer."
    Config: ClassVar[builtins.type[NodeConfig]] = AskConfig
    template_fields: ClassVar[tuple[str, ...]] = ("message", "on_decline", "on_cancel")
    result_fields: ClassVar[tuple[str, ...] | None] = ("action", "accepted", "content")

    @classmethod
    def parks(cls, config: NodeConfig) -> bool:
        """An ask step always waits for the caller."""
        return True

    @classmethod
    def check(cls, config: NodeConfig, spec: AppSpec) -> list[tuple[str, str]]:
        """The fields must form a schema MCP clients can draw; an ``end`` branch names declared outputs."""
        assert isinstance(config, AskConfig)
        problems = field_problems(config.fields, config.required)
        declared = {out.name for out in spec.outputs}
        for where, branch in (("on_decline", config.on_decline), ("on_cancel", config.on_cancel)):
            problems += [(f"{where}.outputs.{name}", f"unknown output '{name}'; declared outputs: "
                          f"{', '.join(sorted(declared)) or 'none'}")
                         for name in branch.outputs or {} if name not in declared]
        return problems

    def run(self, config: AskConfig, ctx: NodeContext) -> dict[str, Any]:
        """Ask (or take the answer already given), then follow the branch for what the human did."""
        schema = requested_schema(config.fields, config.required)
        params = {"message": render(config.message, ctx.variables()), "requestedSchema": schema}
        answer = ctx.ask_caller(Question(ctx.step_id, "elicit", params, config.timeout))
        action = answer.get("action") if isinstance(answer, dict) else None
        if action == "accept":
            content = {**_defaults(config.fields), **(answer.get("content") or {})}
            problem = answer_problem(schema, content)
            if problem:
                raise NodeFailure(problem)
            return {"action": "accept", "accepted": True, "content": content}
        if action not in ("decline", "cancel"):
            raise NodeFailure(f"the caller's answer has no valid action ({action!r}); expected accept, decline or cancel")
        self._branch(config.on_decline if action == "decline" else config.on_cancel, action, ctx)
        return {"action": action, "accepted": False, "content": {}}

    @staticmethod
    def _branch(branch: AskBranch, action: str, ctx: NodeContext) -> None:
        """Fail or end the run as the builder chose for a decline or cancel; ``continue`` does nothing."""
        verb = "declined" if action == "decline" else "cancelled"
        if branch.do == "fail":
            text = render(branch.message, ctx.variables()) if branch.message else f"the user {verb} to answer"
            raise NodeFailure(text)
        if branch.do == "end":
            spec: AppSpec | None = ctx.service("spec")
            outputs = resolve(branch.outputs or {}, ctx.variables())
            ctx.finish(finish_outputs(spec, outputs) if spec is not None else outputs)
