"""Profile a Toolpress stack under the harness load with py-spy and print where the samples fall.

Usage: .venv/bin/python bench/profile.py [--redis] [--sessions 8] [--seconds 20] [--out bench/results/profile]

Starts one stack (embedded by default, or Redis + PostgreSQL + 2 workers), keeps `--sessions` SDK clients
calling the echo tool in a loop, and meanwhile runs `py-spy record` on the API process (and, with --redis,
on one worker process). Writes raw collapsed stacks (`<out>-api.txt`, `<out>-worker.txt`, loadable in
speedscope) and prints the share of samples whose stack passes through each of a few named places, plus
the top leaf functions. Needs py-spy (`pip install py-spy`) and permission to attach to a child process.
"""
from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import anyio
from measure import load_cn
from systems import BENCH, BIN, Toolpress

# Frames worth naming: substring of a collapsed-stack frame → label.
PLACES = {
    "resolve_secret": "secret → app lookup (resolve_secret)",
    "create_run (backend/services/runs.py": "create the run row (API)",
    "_enqueue": "enqueue the task (API)",
    "_load (backend/services/runs.py": "reload the finished run (API)",
    "_query (backend/services/runs.py": "RunWatcher poll (API)",
    "execute_run": "the worker's whole run (execute_run)",
    "_finish (backend/services/execution.py": "worker: final write (_finish)",
    "record (backend/services/execution.py": "worker: progress write",
    "__call__ (backend/services/execution.py": "worker: cancellation check",
    "workflows/engine.py": "engine (workflows.execute)",
    "do_execute": "SQL execute (all callers)",
    "do_commit": "SQL commit (all callers)",
    "load_spec_of": "parse the app spec",
    "validate_inputs": "validate arguments",
    "describe_tool": "describe the tool",
    "drain_events": "kombu drain_events (worker polling)",
    "report_progress": "send progress notification",
    "handle_request (mcp/server/streamable_http_manager.py": "SDK transport (handle_request)",
}


def summarise(raw: Path, title: str) -> str:
    counts: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        samples = int(n)
        if "(idle)" in stack or stack.endswith(("wait (threading.py", "select (selectors.py")):
            continue
        total += samples
        for needle, label in PLACES.items():
            if needle in stack:
                counts[label] += samples
        leaves[stack.split(";")[-1]] += samples
    lines = [f"### {title}: {total} active samples", "", "| where (stack passes through) | share |", "|---|---|"]
    lines += [f"| {label} | {100 * n / max(1, total):.1f} % |" for label, n in counts.most_common()]
    lines += ["", "| top leaf frames | share |", "|---|---|"]
    lines += [f"| `{leaf[:110]}` | {100 * n / max(1, total):.1f} % |" for leaf, n in leaves.most_common(12)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", action="store_true", help="profile the Redis + PostgreSQL stack")
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--gil", action="store_true", help="sample only the thread holding the GIL (Python CPU)")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "profile")
    args = parser.parse_args()
    pyspy = shutil.which("py-spy") or str(BIN / "py-spy")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="toolpress-profile-") as tmp:
        tp = Toolpress(Path(tmp), production=args.redis)
        try:
            tp.start()
            anyio.run(load_cn, tp, args.sessions, 3.0)  # warm up
            targets = {"api": tp.api_pid}
            if args.redis:  # the first `toolpress worker` (Celery's threads pool runs the tasks in it)
                targets["worker"] = next(pid for pid, part in tp.parts.items() if part == "worker")
            spies = []
            for label, pid in targets.items():
                out = Path(f"{args.out}-{label}.txt")
                spies.append((label, out, subprocess.Popen(
                    [pyspy, "record", "--pid", str(pid), "--rate", str(args.rate), "--duration", str(int(args.seconds)),
                     "--format", "raw", "--threads", "--nonblocking", "--output", str(out),
                     *(["--gil"] if args.gil else [])],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))
            result = anyio.run(load_cn, tp, args.sessions, args.seconds)
            print(f"load during the profile: {result['throughput']:.1f} calls/s, p95 {result['p95']:.1f} ms, "
                  f"errors {result['errors']}")
            for label, out, spy in spies:
                _, err = spy.communicate(timeout=args.seconds + 60)
                if spy.returncode or not out.exists():
                    print(f"py-spy on {label} failed: {err.decode(errors='replace')[-500:]}")
                    continue
                print(summarise(out, f"{tp.name} {label} process"))
                print()
        finally:
            tp.stop()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    sys.exit(main())
