"""The ``template`` node: render a sandboxed Jinja2 template to text (optionally parsed as JSON)."""

from __future__ import annotations

import builtins
import json
from typing import Any, ClassVar, Literal

from pydantic import Field

from workflows.errors import NodeFailure
from workflows.nodes.base import Node, NodeConfig, NodeContext
from workflows.templating import render

__all__ = ["TemplateConfig", "TemplateNode"]


class TemplateConfig(NodeConfig):
    """Fields of a template step."""

    template: str = Field(min_length=1, description="Jinja2 template; sees inputs, steps and context.")
    output: Literal["text", "json"] = Field(
        default="text", description="'json' parses the rendered text as JSON into result.json."
    )


class TemplateNode(Node[TemplateConfig]):
    """Render text from inputs and earlier steps.

    Runs in Jinja2's immutable sandbox with StrictUndefined, so a misspelt reference fails
    loudly instead of rendering an empty string, and attribute escapes fail with a clear
    reason. Results: ``text`` always, ``json`` when ``output: json``.
    """

    type: ClassVar[str] = "template"
    description: ClassVar[str] = "Render a Jinja2 template from inputs and earlier steps."
    Config: ClassVar[builtins.type[NodeConfig]] = TemplateConfig
    template_fields: ClassVar[tuple[str, ...]] = ("template",)
    result_fields: ClassVar[tuple[str, ...] | None] = ("text", "json")

    def run(self, config: TemplateConfig, ctx: NodeContext) -> dict[str, Any]:
        """Render the template; with ``output: json`` also parse the text."""
        text = render(config.template, ctx.variables())
        if config.output == "text":
            return {"text": text}
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise NodeFailure(
                f"rendered text is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                "use the tojson filter to build JSON values"
            ) from None
        return {"text": text, "json": parsed}
