"""The ``code`` node: a Python or JavaScript function of the run's data, run in a confined process."""

from __future__ import annotations

import ast
import builtins
import re
import time
from typing import Any, ClassVar, Literal

from pydantic import Field

from workflows.codebox import CodeCancelled, CodeFailed, CodeLimits, run_code
from workflows.errors import NodeFailure, RunCancelled
from workflows.nodes.base import Node, NodeConfig, NodeContext
from workflows.spec import AppSpec

__all__ = ["CodeConfig", "CodeNode"]

MAX_CODE_CHARS = 100_000
_PRINTED_IN_ERROR = 1_000
_JS_MAIN = re.compile(r"\bfunction\s+main\s*\(|\b(?:const|let|var)\s+main\s*=")


class CodeConfig(NodeConfig):
    """Fields of a code step: the language, the source defining ``main``, and its limits."""

    language: Literal["python", "javascript"] = "python"
    code: str = Field(min_length=1, max_length=MAX_CODE_CHARS,
                      description="Defines main(inputs, steps) in Python or main({inputs, steps}) in JavaScript; "
                                  "its return value (JSON) is the step's `result`.")
    timeout: float = Field(default=10.0, gt=0, le=60, description="Wall-clock seconds the code may take.")
    cpu_seconds: float = Field(default=2.0, gt=0, le=30, description="CPU seconds the code may use.")
    memory_mb: int = Field(default=128, ge=32, le=512, description="Memory (MB) the code's process may use.")


def _python_problems(code: str) -> list[tuple[str, str]]:
    try:
        tree = ast.parse(code, filename="<code>")
    except SyntaxError as exc:
        return [("code", f"line {exc.lineno}: SyntaxError: {exc.msg}")]
    except (ValueError, MemoryError, RecursionError) as exc:
        return [("code", f"the code cannot be parsed: {type(exc).__name__}")]
    if not any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "main"
               for node in tree.body):
        return [("code", "the code must define a function main(...) at top level")]
    return []


class CodeNode(Node[CodeConfig]):
    """Run a small function written by the builder: loops with state, date arithmetic, checksums, joins.

    ``main`` receives the run's data as JSON values: ``inputs``, ``steps`` (earlier results) and, inside a
    map, ``item`` and ``index`` (Python passes the names ``main`` declares; JavaScript passes one object to
    destructure). Its return value is ``result``; what it printed (``print`` / ``console.log``) is
    ``output``, shows in the run's trace and goes to the caller's step log at ``info``. Each call runs in a fresh process (``workflows.codebox``)
    with its own memory, CPU and wall-clock limits enforced by the kernel and the parent, and a seccomp
    filter that refuses files, sockets, processes and other processes' memory; secrets are never passed
    in. A failure reports the code's own line number and message, never the host's traceback.
    """

    type: ClassVar[str] = "code"
    description: ClassVar[str] = "Run a Python or JavaScript function in a sandbox (no files, network or processes)."
    Config: ClassVar[builtins.type[NodeConfig]] = CodeConfig
    result_fields: ClassVar[tuple[str, ...] | None] = ("result", "output")

    @classmethod
    def check(cls, config: NodeConfig, spec: AppSpec) -> list[tuple[str, str]]:
        """Report a Python syntax error (with its line) or a missing ``main`` at load time."""
        assert isinstance(config, CodeConfig)
        if config.language == "python":
            return _python_problems(config.code)
        if not _JS_MAIN.search(config.code):
            return [("code", "the code must define a function main({...})")]
        return []

    def run(self, config: CodeConfig, ctx: NodeContext) -> dict[str, Any]:
        """Run ``main`` in a new confined process; its result and printed output are the step's result."""
        wall = config.timeout
        if ctx.deadline is not None:
            wall = min(wall, max(0.001, ctx.deadline - time.monotonic()))
        data = {"inputs": dict(ctx.inputs), "steps": dict(ctx.steps), **dict(ctx.extras)}
        limits = CodeLimits(memory_mb=config.memory_mb, cpu_seconds=config.cpu_seconds, wall_seconds=wall)
        try:
            outcome = run_code(config.language, config.code, data, limits=limits, cancelled=ctx.cancelled)
        except CodeCancelled:
            raise RunCancelled("run cancelled while its code step ran") from None
        except CodeFailed as exc:
            printed = exc.output.strip()
            if printed:
                ctx.log("info", printed)
            if len(printed) > _PRINTED_IN_ERROR:
                printed = "…" + printed[-_PRINTED_IN_ERROR:]
            raise NodeFailure(exc.message + (f"\nprinted before it failed:\n{printed}" if printed else "")) from None
        if outcome.output.strip():
            ctx.log("info", outcome.output.strip())  # the caller's step log (workflows.logs), as one message
        return {"result": outcome.result, "output": outcome.output}
