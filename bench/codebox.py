"""Start-up cost of one code step call: a fresh confined process per call (workflows.codebox).

Usage: .venv/bin/python bench/codebox.py [--calls 40]

Times `run_code` end to end (spawn, load the allowed modules, confine, run a trivial main, read the
result, reap the process) for Python and JavaScript, next to a bare `python -I -c pass` for scale,
and prints a Markdown table of median / p95 / min milliseconds.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workflows.codebox import CodeLimits, run_code  # noqa: E402

PY = "def main(inputs):\n    return inputs['n'] + 1\n"
JS = "function main({inputs}) { return inputs.n + 1; }"


def _time(call: Callable[[], object], calls: int) -> list[float]:
    call()  # warm the page cache
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return sorted(samples)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=40)
    calls = parser.parse_args().calls
    limits = CodeLimits()
    rows = {
        "bare `python -I -S -c pass` (for scale)": lambda: subprocess.run([sys.executable, "-I", "-S", "-c", "pass"],
                                                                         check=True),
        "code step, Python": lambda: run_code("python", PY, {"inputs": {"n": 1}}, limits=limits),
        "code step, JavaScript (QuickJS)": lambda: run_code("javascript", JS, {"inputs": {"n": 1}}, limits=limits),
    }
    print(f"{calls} sequential calls each, after one warm-up call\n")
    print("| what | median ms | p95 ms | min ms |")
    print("|---|---|---|---|")
    for name, call in rows.items():
        samples = _time(call, calls)
        p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
        print(f"| {name} | {statistics.median(samples):.1f} | {p95:.1f} | {samples[0]:.1f} |")


if __name__ == "__main__":
    main()
