"""The ``log`` node: send a message to the caller's log (MCP ``notifications/message``) and the trace."""

from __future__ import annotations

import builtins
from typing import Any, ClassVar

from pydantic import Field

from workflows.logs import LogLevel
from workflows.nodes.base import Node, NodeConfig, NodeContext
from workflows.templating import render

__all__ = ["LogConfig", "LogNode"]


class LogConfig(NodeConfig):
    """Fields of a log step."""

    message: str = Field(min_length=1, description="Jinja2 template of the message; sees inputs, steps and context.")
    level: LogLevel = Field(
        default="info",
        description="debug, info, notice, warning, error, critical, alert or emergency; a client that set a "
                    "higher level with logging/setLevel does not receive it (the trace always keeps it).",
    )


class LogNode(Node[LogConfig]):
    """Emit a log message while the run goes on.

    The caller gets it as an MCP ``notifications/message`` on the call's stream (filtered by the level it
    chose), the run's trace keeps it under the step. Results: ``message`` and ``level``.
    """

    type: ClassVar[str] = "log"
    description: ClassVar[str] = "Send a log message to the caller (MCP notifications/message) and the trace."
    Config: ClassVar[builtins.type[NodeConfig]] = LogConfig
    template_fields: ClassVar[tuple[str, ...]] = ("message",)
    result_fields: ClassVar[tuple[str, ...] | None] = ("message", "level")

    def run(self, config: LogConfig, ctx: NodeContext) -> dict[str, Any]:
        """Render the message and emit it."""
        text = render(config.message, ctx.variables())
        ctx.log(config.level, text)
        return {"message": text, "level": config.level}
