"""The ``transform`` node: JMESPath expressions over the run's inputs and earlier step results."""

from __future__ import annotations

import builtins
from typing import Any, ClassVar

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import Field, model_validator

from workflows.errors import NodeFailure
from workflows.nodes.base import Node, NodeConfig, NodeContext
from workflows.spec import AppSpec

__all__ = ["TransformConfig", "TransformNode"]


class TransformConfig(NodeConfig):
    """Fields of a transform step: one ``expression`` or a map of named ``fields``."""

    expression: str | None = Field(default=None, min_length=1,
                                   description="JMESPath over {inputs, steps}; result in `value`.")
    fields: dict[str, str] | None = Field(default=None, description="Name → JMESPath; each result under its name.")

    @model_validator(mode="after")
    def _one_of(self) -> TransformConfig:
        if (self.expression is None) == (self.fields is None):
            raise ValueError("set exactly one of 'expression' or 'fields'")
        return self

    def expressions(self) -> dict[str, str]:
        """Return the expressions keyed by result name (``value`` for a single expression)."""
        return {"value": self.expression} if self.expression is not None else dict(self.fields or {})


def _roots(node: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Return (root, key) pairs of ``inputs.x`` / ``steps.x`` paths in a parsed expression."""
    found: list[tuple[str, str | None]] = []
    if node.get("type") == "subexpression":
        first, second = node["children"][0], node["children"][1]
        if first.get("type") == "field" and first.get("value") in ("inputs", "steps"):
            key = second.get("value") if second.get("type") == "field" else None
            found.append((first["value"], key))
    elif node.get("type") == "field" and node.get("value") not in ("inputs", "steps"):
        pass
    for child in node.get("children", []):
        if isinstance(child, dict):
            found += _roots(child)
    return found


class TransformNode(Node[TransformConfig]):
    """Reshape data without code: pick, filter, project, sort and aggregate.

    JMESPath rather than Jinja2 because reshaping JSON (``items[?state=='open'].title``,
    ``sort_by(@, &date)``, ``length(...)``) is what it is for, it cannot loop forever or
    reach Python objects, and it returns JSON values with their types. The expression
    sees ``{"inputs": …, "steps": …}`` (secrets deliberately not), is compiled at load
    time so a syntax error names the field, and references to unknown inputs or steps are
    rejected like template references. Result: ``value`` for ``expression``, or one key
    per entry of ``fields``.
    """

    type: ClassVar[str] = "transform"
    description: ClassVar[str] = "Reshape inputs and earlier results with JMESPath expressions."
    Config: ClassVar[builtins.type[NodeConfig]] = TransformConfig

    @classmethod
    def check(cls, config: NodeConfig, spec: AppSpec) -> list[tuple[str, str]]:
        """Compile every expression; report syntax errors and unknown inputs."""
        assert isinstance(config, TransformConfig)
        problems: list[tuple[str, str]] = []
        inputs = {f.name for f in spec.inputs}
        for name, source in config.expressions().items():
            where = "expression" if config.expression is not None else f"fields.{name}"
            try:
                parsed = jmespath.compile(source).parsed
            except JMESPathError as exc:
                problems.append((where, f"invalid JMESPath expression: {str(exc).splitlines()[0]}"))
                continue
            for root, key in _roots(parsed):
                if root == "inputs" and key is not None and key not in inputs:
                    problems.append((where, f"unknown input '{key}'; declared inputs: "
                                            f"{', '.join(sorted(inputs)) or 'none'}"))
        return problems

    @classmethod
    def referenced_steps(cls, config: NodeConfig) -> list[str]:
        """Return the step ids the expressions read (``steps.<id>``)."""
        assert isinstance(config, TransformConfig)
        ids: list[str] = []
        for source in config.expressions().values():
            try:
                parsed = jmespath.compile(source).parsed
            except JMESPathError:
                continue
            ids += [key for root, key in _roots(parsed) if root == "steps" and key is not None]
        return ids

    def run(self, config: TransformConfig, ctx: NodeContext) -> dict[str, Any]:
        """Evaluate each expression over ``{inputs, steps}`` (plus ``item``/``index`` in a map)."""
        data = {"inputs": dict(ctx.inputs), "steps": dict(ctx.steps), **dict(ctx.extras)}
        result: dict[str, Any] = {}
        for name, source in config.expressions().items():
            try:
                result[name] = jmespath.search(source, data)
            except JMESPathError as exc:
                raise NodeFailure(f"JMESPath '{source}' failed: {str(exc).splitlines()[0]}") from None
        return result
