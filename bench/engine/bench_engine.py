"""Engine overhead per step: a 50-step template chain, timed end to end.

Run: ``.venv/bin/python bench/engine/bench_engine.py [--repeats 30] [--write docs/engine.md]``.
Each step renders ``{{ steps.sN.text }}x``-style templates (the cheapest real work), so the
time per step is essentially the engine's own cost: config validation, reference
resolution, sandboxed rendering, JSON-safety copy, tracing and the progress callback.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from workflows import execute, spec_from_dict  # noqa: E402

STEPS = 50
MARKER = "<!-- bench:engine -->"


def chain_spec() -> object:
    """Return a 50-step chain where each step extends the previous step's text."""
    steps = [{"id": "s0", "type": "template", "template": "{{ inputs.seed }}"}]
    steps += [{"id": f"s{i}", "type": "template", "template": f"{{{{ steps.s{i - 1}.text }}}}x"}
              for i in range(1, STEPS)]
    return spec_from_dict({"name": "Chain", "inputs": [{"name": "seed", "type": "string", "default": "a"}],
                           "steps": steps,
                           "outputs": [{"name": "o", "type": "string", "value": f"{{{{ steps.s{STEPS - 1}.text }}}}"}]})


def measure(repeats: int) -> dict[str, float]:
    """Run the chain ``repeats`` times (after warm-up); return per-step microseconds."""
    spec = chain_spec()
    events: list[object] = []
    for _ in range(3):
        execute(spec, {"seed": "a"}, on_progress=events.append)
    samples: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        execute(spec, {"seed": "a"}, on_progress=events.append, should_cancel=lambda: False)
        samples.append((time.perf_counter() - started) / STEPS * 1e6)
    load = []
    for _ in range(max(5, repeats // 3)):
        started = time.perf_counter()
        chain_spec()
        load.append((time.perf_counter() - started) / STEPS * 1e6)
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "load_median": statistics.median(load)}


def report(result: dict[str, float], repeats: int) -> str:
    """Format the results as a Markdown table."""
    machine = f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    return "\n".join([
        MARKER,
        f"50-step template chain, {repeats} runs after 3 warm-ups ({machine}):",
        "",
        "| measure | µs per step |",
        "|---|---|",
        f"| run, median | {result['median']:.1f} |",
        f"| run, min | {result['min']:.1f} |",
        f"| run, max | {result['max']:.1f} |",
        f"| load + validate spec, median | {result['load_median']:.1f} |",
        MARKER,
    ])


def main() -> None:
    """Measure, print, and optionally write the table into a Markdown file between markers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    table = report(measure(args.repeats), args.repeats)
    print(table)
    if args.write is not None:
        text = args.write.read_text()
        start, end = text.find(MARKER), text.rfind(MARKER)
        if start == -1 or start == end:
            raise SystemExit(f"{args.write} needs two '{MARKER}' lines to replace")
        args.write.write_text(text[:start] + table + text[end + len(MARKER):])


if __name__ == "__main__":
    main()
