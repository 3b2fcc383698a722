"""Instructions per call in the API process, counted by valgrind's callgrind: a before/after that noise cannot move.

Usage: .venv/bin/python bench/instructions.py TREE [TREE ...] [--bare] [--redis] [--calls 100] [--what call|ping|list]
       [--arg-bytes N]

CPU time per call (bench/ab.py) drifts by tens of per cent on a shared machine, even between two measurements a
few seconds apart, so a change worth a few per cent needs many repeats to show. An instruction count does not
drift: for each source tree this starts a stack (embedded by default; `--redis` for Redis + PostgreSQL + 2 workers)
whose API process runs under `valgrind --tool=callgrind` with instrumentation off (start-up at about a quarter of
native speed), makes warm-up requests, switches instrumentation on (`callgrind_control -i on`), makes `--calls`
sequential requests of one SDK `Client` session, dumps the counters and divides. It reports instructions (Ir) per
request for the API process, its threads included (the embedded worker's too); sandbox processes, production
workers, Redis and PostgreSQL are not counted, nor the client. `--bare` measures the bare SDK server of
bench/run.py first, the reference the ratios are then given against.

What varies between runs of one tree: work done by time rather than per request (the run watcher's poll each
second, keep-alives), which callgrind slows down with the rest, and hash seeds. Two runs of one tree agree to
within about a per cent; what a change moves beyond that is its own. Needs valgrind (Debian package `valgrind`).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from ab import TreeStack
from mcp import Client
from systems import Bare, System

WARMUPS = 20


def _under_callgrind(system: System, argv: list[str]) -> list[str]:
    """`argv` run under callgrind with instrumentation off; its dumps go to `system.dumps`."""
    system.dumps = system.workdir / "callgrind"
    system.dumps.mkdir(exist_ok=True)
    return [shutil.which("valgrind") or "valgrind", "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={system.dumps}/callgrind.out.%p", *argv]


class CallgrindStack(TreeStack):
    """A stack of `tree` whose API process runs under callgrind."""

    def spawn(self, label: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
              part: str = "api") -> Any:
        if label == "api":
            argv = _under_callgrind(self, [sys.executable, *argv])
        return super().spawn(label, argv, env, cwd, part)


class CallgrindBare(Bare):
    """The bare SDK server (the reference of bench/run.py) under callgrind."""

    def spawn(self, label: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
              part: str = "api") -> Any:
        return super().spawn(label, _under_callgrind(self, argv), env, cwd, part)


def _control(*args: str) -> str:
    return subprocess.run(["callgrind_control", *args], capture_output=True, text=True, timeout=600, check=True).stdout


def _total_ir(dumps: Path, before: set[Path]) -> int:
    """The Ir total of the dump written since `before` (callgrind writes one per process; 0 while none is there)."""
    total = 0
    for path in set(dumps.glob("callgrind.out.*")) - before:
        text = path.read_text(errors="replace")
        found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
        if found:
            total = max(total, int(found.group(1)))
    return total


async def _requests(stack: CallgrindStack | CallgrindBare, what: str, calls: int, arg_bytes: int) -> int:
    """Warm up, then count `calls` requests; the instructions per request."""
    pid = str(stack.api_pid)
    async with Client(stack.url, mode=stack.mode) as client:

        async def one(i: int) -> None:
            if what == "call":
                text = f"n{i}"
                result = await client.call_tool(stack.tool, {"text": text + "x" * (arg_bytes - len(text))})
                if result.is_error:
                    raise RuntimeError(f"the call failed: {result.content}")
            elif what == "list":
                await client.list_tools()
            else:
                await client.send_ping()

        for i in range(WARMUPS):
            await one(i)
        await anyio.to_thread.run_sync(_control, "-i", "on", pid)
        await anyio.to_thread.run_sync(_control, "-z", pid)
        for i in range(calls):
            await one(i)
        before = set(stack.dumps.glob("callgrind.out.*"))
        await anyio.to_thread.run_sync(_control, "-d", pid)
        await anyio.to_thread.run_sync(_control, "-i", "off", pid)
    deadline = time.monotonic() + 60
    while not (total := _total_ir(stack.dumps, before)) and time.monotonic() < deadline:
        await anyio.sleep(0.2)
    if not total:
        raise RuntimeError("callgrind wrote no dump")
    return total // calls


def measure(tree: Path | None, production: bool, what: str, calls: int, arg_bytes: int) -> int:
    """Instructions per request of `tree`'s API process, or of the bare SDK server (`tree` None)."""
    workdir = Path(tempfile.mkdtemp(prefix="toolpress-ir-"))
    stack = CallgrindBare(workdir) if tree is None else CallgrindStack(workdir, production, tree.resolve())
    try:
        stack.start()
        return anyio.run(_requests, stack, what, calls, arg_bytes)
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trees", type=Path, nargs="+")
    parser.add_argument("--redis", action="store_true", help="Redis + PostgreSQL + 2 workers instead of embedded")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--what", choices=("call", "ping", "list"), default="call")
    parser.add_argument("--arg-bytes", type=int, default=0, help="the echo call's text argument padded to this length")
    parser.add_argument("--bare", action="store_true", help="measure the bare SDK server first, as the reference")
    args = parser.parse_args()
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        print("needs valgrind and callgrind_control (Debian package valgrind)", file=sys.stderr)
        return 2
    first = None
    for tree in ([None] if args.bare else []) + args.trees:
        per = measure(tree, args.redis, args.what, args.calls, args.arg_bytes)
        first = first or per
        print(f"{tree or 'bare SDK'}: {per / 1e6:.3f} M instructions per {args.what} in the API process "
              f"({per / first:.3f}× the first)", flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
