"""Running one code step in a fresh confined process (``workflows.codebox.runner``) and reading its outcome.

One process per call, never reused: nothing a step leaves behind (globals, a polluted prototype, a
monkey-patched module) can reach the next call. The process starts with an empty environment, no open
files but its three pipes, and ``/`` as working directory; the parent watches the wall clock, the
caller's cancellation and the size of what comes back, and kills the process (SIGKILL, then waits for
it) on any of them, so clean-up is the same whichever way a call ends.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["CodeCancelled", "CodeFailed", "CodeLimits", "CodeOutcome", "run_code"]

_RUNNER = Path(__file__).with_name("runner.py")
_NEEDED = ("quickjs", "_quickjs", "pyseccomp")  # what the runner imports beyond the standard library
_POLL = 0.05
RESULT_LIMIT = 4 * 1_048_576  # bytes the process may send back (result and printed text)

Language = Literal["python", "javascript"]


@dataclass(frozen=True, slots=True)
class CodeLimits:
    """Memory (address space), CPU seconds and wall-clock seconds of one call."""

    memory_mb: int = 128
    cpu_seconds: float = 2.0
    wall_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class CodeOutcome:
    """What the code returned and printed."""

    result: Any
    output: str


class CodeFailed(Exception):
    """The code raised, was refused something, or went over a limit; ``message`` says which."""

    def __init__(self, message: str, *, output: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.output = output
        self.line = line


class CodeCancelled(Exception):
    """The caller cancelled while the code ran (the process is gone)."""


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait()


def _read(process: subprocess.Popen[bytes], job: bytes, limits: CodeLimits,
          cancelled: Callable[[], bool]) -> tuple[bytes, str | None]:
    """Feed the job, collect stdout; return (output, None) or (partial output, why the process was stopped)."""
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(job)
        process.stdin.close()
    except BrokenPipeError:
        pass
    end = time.monotonic() + limits.wall_seconds
    chunks: list[bytes] = []
    size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            if cancelled():
                return b"", "cancelled"
            left = end - time.monotonic()
            if left <= 0:
                return b"", "wall"
            if selector.select(min(_POLL, left)):
                chunk = os.read(process.stdout.fileno(), 65_536)
                if not chunk:
                    return b"".join(chunks), None
                chunks.append(chunk)
                size += len(chunk)
                if size > RESULT_LIMIT:
                    return b"", "size"


def _describe(kind: str, limits: CodeLimits, language: Language) -> str:
    if kind == "memory":
        return f"the code used more than its {limits.memory_mb} MB of memory and was stopped"
    if kind == "cpu":
        return f"the code used more than its {_seconds(limits.cpu_seconds)} s of CPU time and was stopped"
    if kind == "wall":
        return f"the code ran longer than its {limits.wall_seconds:g} s time limit and was stopped"
    if kind == "size":
        return f"the code's result and printed output are larger than {RESULT_LIMIT // 1_048_576} MB"
    return f"the {language} sandbox process ended unexpectedly ({kind})"


def _seconds(cpu: float) -> int:
    return max(1, math.ceil(cpu))


def _from_signal(returncode: int) -> str:
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return "cpu"  # SIGXCPU at the soft limit, SIGKILL at the hard one (we kill only after deciding why)
    if returncode in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS) or returncode == 1:
        return "memory"  # an allocation the address-space limit refused, outside Python's MemoryError
    return f"exit status {returncode}"


@functools.cache
def _search_path() -> tuple[str, ...]:
    """The directories holding the runner's third-party modules (it starts without ``site``)."""
    found: list[str] = []
    for name in _NEEDED:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        folder = str(Path(spec.origin).parent)
        if folder not in found:
            found.append(folder)
    return tuple(found)


def run_code(language: Language, code: str, data: dict[str, Any], *, limits: CodeLimits,
             cancelled: Callable[[], bool] = lambda: False) -> CodeOutcome:
    """Run ``main`` of ``code`` on ``data`` in a new confined process; raise CodeFailed or CodeCancelled."""
    job = json.dumps({"language": language, "code": code, "data": data}, default=str).encode()
    process = subprocess.Popen(  # noqa: S603 - our own runner, with this interpreter
        [sys.executable, "-I", "-S", str(_RUNNER), str(limits.memory_mb), str(_seconds(limits.cpu_seconds)),
         *_search_path()],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={}, cwd="/",
        close_fds=True,
    )
    try:
        raw, stopped = _read(process, job, limits, cancelled)
    finally:
        _kill(process)
    if stopped == "cancelled":
        raise CodeCancelled
    if stopped is not None:
        raise CodeFailed(_describe(stopped, limits, language))
    try:
        outcome = json.loads(raw) if raw else None
    except ValueError:
        outcome = None
    if not isinstance(outcome, dict):
        raise CodeFailed(_describe(_from_signal(process.returncode), limits, language))
    output = str(outcome.get("output", ""))
    if outcome.get("ok"):
        return CodeOutcome(result=outcome.get("result"), output=output)
    kind = str(outcome.get("kind", "error"))
    line = outcome.get("line") if isinstance(outcome.get("line"), int) else None
    if kind in ("memory", "cpu"):
        raise CodeFailed(_describe(kind, limits, language), output=output)
    if kind == "unconfined":  # the server lacks the seccomp library: refuse rather than run unconfined
        raise CodeFailed("code steps are not available on this server: its sandbox could not be set up")
    message = str(outcome.get("error", "failed"))
    if kind == "refused":
        message += " (refused by the sandbox: a code step has no file system, network, environment or processes)"
    raise CodeFailed(f"line {line}: {message}" if line else message, output=output, line=line)
