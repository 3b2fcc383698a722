"""The ``output`` node: set the app's declared outputs from values and end the run."""

from __future__ import annotations

import builtins
from typing import Any, ClassVar

from pydantic import Field

from workflows.nodes.base import Node, NodeConfig, NodeContext
from workflows.outputs import finish_outputs
from workflows.spec import AppSpec
from workflows.templating import evaluate

__all__ = ["OutputConfig", "OutputNode"]


class OutputConfig(NodeConfig):
    """Fields of an output step: declared output name → value (usually one reference)."""

    values: dict[str, Any] = Field(description="Output name → value; templates keep JSON types.")


class OutputNode(Node[OutputConfig]):
    """Map values onto the app's declared outputs, validate them, and finish.

    An explicit final step (like an ``End`` node) lets different branches of a
    ``condition`` return different outputs, which the spec-level ``outputs[].value``
    templates cannot. Values are resolved like any reference (a single reference keeps
    its JSON type), coerced to the declared output types and validated against the
    output schema, so a bad value fails this step, naming the output. Outputs not listed
    fall back to their declared ``value``. The step is terminal: the run ends here, and
    steps after it in the same list are rejected as unreachable at load time.
    Result: ``outputs``.
    """

    type: ClassVar[str] = "output"
    description: ClassVar[str] = "Set the app's outputs and end the run."
    Config: ClassVar[builtins.type[NodeConfig]] = OutputConfig
    resolved_fields: ClassVar[tuple[str, ...]] = ("values",)
    result_fields: ClassVar[tuple[str, ...] | None] = ("outputs",)
    terminal: ClassVar[bool] = True

    @classmethod
    def check(cls, config: NodeConfig, spec: AppSpec) -> list[tuple[str, str]]:
        """Every key must be a declared output; every declared output needs a value somewhere."""
        assert isinstance(config, OutputConfig)
        declared = {out.name: out for out in spec.outputs}
        problems = [(f"values.{name}", f"unknown output '{name}'; declared outputs: "
                     f"{', '.join(declared) or 'none'}") for name in config.values if name not in declared]
        problems += [("values", f"missing a value for output '{name}' (it declares no value of its own)")
                     for name, out in declared.items() if name not in config.values and out.value is None]
        return problems

    def run(self, config: OutputConfig, ctx: NodeContext) -> dict[str, Any]:
        """Coerce and validate the values against the declared outputs."""
        spec: AppSpec | None = ctx.service("spec")
        if spec is None:
            return {"outputs": dict(config.values)}
        raw = dict(config.values)
        for out in spec.outputs:
            if out.name not in raw and out.value is not None:
                raw[out.name] = evaluate(out.value, ctx.variables())
        return {"outputs": finish_outputs(spec, raw)}
