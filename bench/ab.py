"""A/B: the same Toolpress stack from two source trees, measured interleaved in one run.

Usage: .venv/bin/python bench/ab.py TREE_A TREE_B [--redis] [--repeats 4] [--calls 60] [--seconds 4]

TREE_A and TREE_B are checkouts or exports of the repository (`git archive <commit> | tar -x -C DIR`); each
stack runs with `PYTHONPATH=<tree>`, so it runs that tree's code under the same harness and virtualenv. Each
repeat measures A then B: concurrency-1 latency with the CPU per call, then 64 sessions calling for
`--seconds` with CPU per call. CPU per call is the sum over the stack's parts (API, sandbox processes, and
with --redis the workers, the stack's own redis-server and its PostgreSQL backends: bench/cpu_parts.py),
printed part by part too. The machine's speed drifts by tens of per cent over minutes, so only an
interleaved pair like this one says whether a change helped; prints every repeat and the medians.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from cpu_parts import PARTS, cpu_by_part, sample_cpu
from measure import latency_c1, load_cn
from systems import Toolpress


class TreeStack(Toolpress):
    """A Toolpress stack whose processes (API, workers, CLI) import the code of `tree`."""

    def __init__(self, workdir: Path, production: bool, tree: Path) -> None:
        super().__init__(workdir, production)
        self.tree = tree

    def spawn(self, label: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
              part: str = "api") -> Any:
        base = env if env is not None else dict(os.environ)
        return super().spawn(label, argv, {**base, "PYTHONPATH": str(self.tree)}, cwd, part)

    def cli(self, *args: str) -> str:
        self.env = {**self.env, "PYTHONPATH": str(self.tree)}
        return super().cli(*args)


def parts_text(parts: dict[str, float]) -> str:
    """CPU ms per call by part, e.g. "api 1.2 + sandbox 0.8", in the usual part order."""
    return " + ".join(f"{part} {parts[part]:.1f}" for part in PARTS if part in parts)


def median_parts(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per part, the median over the runs that have it."""
    return {part: statistics.median(run[part] for run in runs if part in run)
            for part in PARTS if any(part in run for run in runs)}


def c1_cpu_parts(stack: TreeStack, calls: int) -> tuple[dict[str, Any], dict[str, float]]:
    """Concurrency-1 latency and the CPU ms per call of each part over the timed calls (not the warm-ups)."""
    c1 = anyio.run(latency_c1, stack, calls, partial(sample_cpu, stack))
    before, after = c1.pop("marks")
    made = max(1, c1["n"] + c1["errors"])
    parts = {part: seconds * 1000 / made for part, seconds in cpu_by_part(before, after).items()}
    return c1, parts


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
    parts: dict[str, dict[str, list[dict[str, float]]]] = {label: {"c1": [], "c64": []} for label in stacks}
    try:
        for stack in stacks.values():
            stack.start()
            anyio.run(load_cn, stack, 8, 2.0)  # warm up
        for _ in range(args.repeats):
            for label, stack in stacks.items():
                c1, c1_parts = c1_cpu_parts(stack, args.calls)
                c64 = anyio.run(load_cn, stack, 64, args.seconds)
                rows[label].append((c1["p50"], sum(c1_parts.values()), c64["throughput"], c64["cpu_ms_per_call"],
                                    c64["errors"]))
                parts[label]["c1"].append(c1_parts)
                parts[label]["c64"].append(c64["cpu_parts_ms_per_call"])
                print(f"{label}: c1 p50 %.1f ms, CPU %.1f ms/call | @64 %.1f calls/s, CPU %.1f ms/call, errors %d"
                      % rows[label][-1], flush=True)
                print(f"{label}: CPU ms/call by part: c1 {parts_text(c1_parts)} | "
                      f"@64 {parts_text(c64['cpu_parts_ms_per_call'])}", flush=True)
    finally:
        for stack in stacks.values():
            stack.stop()
    for label, tree in (("A", args.tree_a), ("B", args.tree_b)):
        med = [statistics.median(row[i] for row in rows[label]) for i in range(4)]
        errors = sum(row[4] for row in rows[label])
        print(f"median {label} ({tree}): c1 p50 %.1f ms, c1 CPU %.1f ms/call, @64 %.1f calls/s, @64 CPU %.1f ms/call"
              % tuple(med) + f", errors {errors}")
        print(f"by part, median {label}, CPU ms/call: c1 {parts_text(median_parts(parts[label]['c1']))} | "
              f"@64 {parts_text(median_parts(parts[label]['c64']))}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
