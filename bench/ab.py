"""A/B: the same Toolpress stack from two source trees, measured interleaved in one run.

Usage: .venv/bin/python bench/ab.py TREE_A TREE_B [--redis] [--repeats 4] [--calls 60] [--seconds 4]

TREE_A and TREE_B are checkouts or exports of the repository (`git archive <commit> | tar -x -C DIR`); each
stack runs with `PYTHONPATH=<tree>`, so it runs that tree's code under the same harness and virtualenv. Each
repeat measures A then B: concurrency-1 latency with the API process's CPU per call, then 64 sessions calling
for `--seconds` with CPU per call. The machine's speed drifts by tens of per cent over minutes, so only an
interleaved pair like this one says whether a change helped; prints every repeat and the medians.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from measure import cpu_seconds, latency_c1, load_cn
from systems import Toolpress


class TreeStack(Toolpress):
    """A Toolpress stack whose processes (API, workers, CLI) import the code of `tree`."""

    def __init__(self, workdir: Path, production: bool, tree: Path) -> None:
        super().__init__(workdir, production)
        self.tree = tree

    def spawn(self, label: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Any:
        base = env if env is not None else dict(os.environ)
        return super().spawn(label, argv, {**base, "PYTHONPATH": str(self.tree)}, cwd)

    def cli(self, *args: str) -> str:
        self.env = {**self.env, "PYTHONPATH": str(self.tree)}
        return super().cli(*args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tree_a", type=Path)
    parser.add_argument("tree_b", type=Path)
    parser.add_argument("--redis", action="store_true", help="Redis + PostgreSQL + 2 workers instead of embedded")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    stacks = {label: TreeStack(Path(tempfile.mkdtemp(prefix=f"toolpress-ab-{label}-")), args.redis, tree.resolve())
              for label, tree in (("A", args.tree_a), ("B", args.tree_b))}
    rows: dict[str, list[tuple[float, float, float, float, int]]] = {label: [] for label in stacks}
    try:
        for stack in stacks.values():
            stack.start()
            anyio.run(load_cn, stack, 8, 2.0)  # warm up
        for _ in range(args.repeats):
            for label, stack in stacks.items():
                before = cpu_seconds(stack)
                c1 = anyio.run(latency_c1, stack, args.calls)
                c1_cpu = (cpu_seconds(stack) - before) * 1000 / args.calls
                c64 = anyio.run(load_cn, stack, 64, args.seconds)
                rows[label].append((c1["p50"], c1_cpu, c64["throughput"], c64["cpu_ms_per_call"], c64["errors"]))
                print(f"{label}: c1 p50 %.1f ms, CPU %.1f ms/call | @64 %.1f calls/s, CPU %.1f ms/call, errors %d"
                      % rows[label][-1], flush=True)
    finally:
        for stack in stacks.values():
            stack.stop()
    for label, tree in (("A", args.tree_a), ("B", args.tree_b)):
        med = [statistics.median(row[i] for row in rows[label]) for i in range(4)]
        errors = sum(row[4] for row in rows[label])
        print(f"median {label} ({tree}): c1 p50 %.1f ms, c1 CPU %.1f ms/call, @64 %.1f calls/s, @64 CPU %.1f ms/call"
              % tuple(med) + f", errors {errors}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
