"""Where one call's time goes at one session: the stages between the client's request and its result.

Usage: .venv/bin/python bench/stages.py [--redis] [--calls 150] [--tree DIR]

Starts one stack (embedded by default, or Redis + PostgreSQL + 2 workers), makes `--calls` sequential echo
calls on one SDK session after 10 warm-ups, and reads each call's run back from the stack's database. The
run's own timestamps split the call's wall time, with no instrumentation in the product:

- request → run built: the client's send to the API building the run (`created_at`, stamped just before its
  insert): the HTTP request, the URL lookup, the session, the SDK's handling, argument checks, the limiter;
- run built → claimed: the insert, the publish, the broker, the worker taking the task, reading and claiming
  the run (`started_at`);
- claimed → ended: the sandbox hop and the workflow, up to the end's timestamp (`ended_at`, stamped just
  before the end is written);
- ended → result: writing the end, the end event to the API, the answer through the SDK to the client.

All timestamps are wall clock on one machine (the client's `time.time()` and the processes' UTC stamps).
`--tree DIR` runs another source tree's code (as bench/ab.py does), to compare stages before and after.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anyio
import sqlalchemy as sa
from mcp import Client
from measure import pct
from systems import Toolpress

STAGES = ("request → run built", "run built → claimed", "claimed → ended", "ended → result", "whole call")


def _seconds(stamp: Any) -> float:
    """A stored timestamp as epoch seconds (SQLite returns naive UTC text, PostgreSQL aware datetimes)."""
    value = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()


async def timed_calls(tp: Toolpress, calls: int) -> dict[str, tuple[float, float]]:
    """Client send and receipt times (epoch seconds) per call, by the call's unique text."""
    times: dict[str, tuple[float, float]] = {}
    async with Client(tp.url, mode=tp.mode) as client:
        for i in range(10):
            await client.call_tool(tp.tool, {"text": f"warm {i}"})
        for i in range(calls):
            text = f"stage {i}"
            sent = time.time()
            result = await client.call_tool(tp.tool, {"text": text})
            received = time.time()
            if not result.is_error:
                times[text] = (sent, received)
    return times


def stage_samples(db_url: str, times: dict[str, tuple[float, float]]) -> dict[str, list[float]]:
    """Milliseconds per stage per call, from the runs' timestamps and the client's."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT arguments, created_at, started_at, ended_at FROM run")).all()
    finally:
        engine.dispose()
    samples: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for arguments, created, started, ended in rows:
        text = (arguments if isinstance(arguments, dict) else json.loads(arguments)).get("text")
        if text not in times or started is None or ended is None:
            continue
        sent, received = times[text]
        points = [sent, _seconds(created), _seconds(started), _seconds(ended), received]
        for stage, (a, b) in zip(STAGES, zip(points, points[1:])):
            samples[stage].append((b - a) * 1000)
        samples["whole call"].append((received - sent) * 1000)
    return samples


def report(name: str, samples: dict[str, list[float]]) -> str:
    lines = [f"### {name}: stages of a call at one session ({len(samples['whole call'])} calls; ms)", "",
             "| stage | p50 | p95 |", "|---|---|---|"]
    lines += [f"| {stage} | {pct(v, 50):.2f} | {pct(v, 95):.2f} |" for stage, v in samples.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", action="store_true", help="the Redis + PostgreSQL stack")
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--tree", type=Path, help="run this source tree's code (bench/ab.py's TreeStack)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="toolpress-stages-"))
    if args.tree is not None:
        from ab import TreeStack

        tp: Toolpress = TreeStack(workdir, args.redis, args.tree.resolve())
    else:
        tp = Toolpress(workdir, args.redis)
    tp.start()
    try:
        times = anyio.run(timed_calls, tp, args.calls)
        samples = stage_samples(tp.db_url, times)
    finally:
        tp.stop()
    if not samples["whole call"]:
        sys.exit(f"{tp.name}: no call succeeded")
    print(report(tp.name, samples))


if __name__ == "__main__":
    main()
