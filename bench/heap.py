"""Where the API process's memory goes while calls wait: a tracemalloc diff with N in-flight calls.

Usage: .venv/bin/python bench/heap.py [--calls 500] [--hold 25] [--callers locks.py:168]

Sets up an embedded stack's data directory with the slow app (as the memory figure of bench/run.py does),
then serves it from *this* process (uvicorn in a thread) with tracemalloc on, while a child process opens
`--calls` raw Streamable HTTP tools/call POSTs and holds them. Once all are open and `--hold` more seconds
have passed, it prints the memory allocated since the calls started (per call) by file, and the largest
allocation sites. tracemalloc sees Python allocations only (not thread stacks or allocator slack), so its
total is below the RSS growth. `--callers FILE:LINE` lists, for one allocating line (one the tables name), the
call paths that reach it and what each holds per call.
"""
from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

from run import SLOW_APP
from systems import Toolpress, free_port

CLIENT = """
import anyio, contextlib, httpx, sys
sys.path.insert(0, sys.argv[4])
from measure import SLOW_CALL_HEADERS, slow_call
url, n, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
opened = 0
async def main():
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=300) as http:
        async def one(i):
            global opened
            with contextlib.suppress(Exception):
                async with http.stream("POST", url, json=slow_call(i), headers=SLOW_CALL_HEADERS) as resp:
                    if resp.status_code == 200:
                        opened += 1
                        print(opened, flush=True)  # the parent snapshots once all are open
                    await anyio.sleep(hold + 300)
        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(one, i)
anyio.run(main)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--hold", type=float, default=25.0)
    parser.add_argument("--callers", metavar="FILE:LINE", help="list the call paths that reach this allocating line")
    args = parser.parse_args()
    stack = Toolpress(Path(tempfile.mkdtemp(prefix="toolpress-heap-")), production=False)
    stack.start()
    try:
        url = stack.publish(SLOW_APP, "Slow")
    finally:
        stack.stop()
    port = free_port()
    os.environ.update({k: v for k, v in stack.env.items() if k.startswith("TOOLPRESS_")})
    os.environ["TOOLPRESS_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    url = url.replace(f":{stack.port}/", f":{port}/")

    import uvicorn

    from backend.main import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="error"))
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    while not server.started:
        time.sleep(0.1)
    time.sleep(2)
    gc.collect()
    tracemalloc.start(12)
    before = tracemalloc.take_snapshot()
    client = subprocess.Popen([sys.executable, "-c", CLIENT, url, str(args.calls), str(args.hold), str(Path(__file__).resolve().parent)],
                              stdout=subprocess.PIPE, text=True)
    opened = 0
    assert client.stdout is not None
    for line in client.stdout:  # tracemalloc slows the server down: wait until every call has its stream
        opened = int(line)
        if opened >= args.calls:
            break
    time.sleep(args.hold)  # the calls settle into waiting
    gc.collect()
    after = tracemalloc.take_snapshot()
    client.kill()
    own = [tracemalloc.Filter(False, tracemalloc.__file__)]
    before, after = before.filter_traces(own), after.filter_traces(own)
    total = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    print(f"Python allocations held after {opened} calls opened: {total / 2**20:.1f} MB, "
          f"{total / max(1, opened) / 1024:.1f} KB per call\n")
    print("| file | KB per call |\n|---|---|")
    for stat in after.compare_to(before, "filename")[:20]:
        name = stat.traceback[0].filename.split("site-packages/")[-1]
        print(f"| `{name}` | {stat.size_diff / max(1, opened) / 1024:.1f} |")
    print("\n| line | KB per call |\n|---|---|")
    for stat in after.compare_to(before, "lineno")[:25]:
        frame = stat.traceback[0]
        print(f"| `{frame.filename.split('site-packages/')[-1]}:{frame.lineno}` | {stat.size_diff / max(1, opened) / 1024:.1f} |")
    print("\nlargest allocation sites (innermost frames last):")
    by_traceback = after.compare_to(before, "traceback")
    for stat in by_traceback[:8]:
        print(f"\n{stat.size_diff / max(1, opened) / 1024:.1f} KB per call")
        for line in stat.traceback.format()[-8:]:
            print("   ", line.rstrip()[:150])
    if args.callers:
        _callers(by_traceback, args.callers, opened)
    # The server is stopped before the interpreter exits: a serving thread left to die with it can crash its
    # teardown (a segmentation fault after the report, seen once in CI).
    tracemalloc.stop()
    server.should_exit = True
    serving.join(30)
    return 0


def _callers(stats: list[tracemalloc.StatisticDiff], site: str, opened: int) -> None:
    """The call paths (outermost first, the allocating line last) whose allocations at `site` are held."""
    name, _, line = site.rpartition(":")
    found = [s for s in stats if s.size_diff > 0 and s.traceback[-1].filename.endswith(name)
             and s.traceback[-1].lineno == int(line)]
    print(f"\ncall paths to {site}: {sum(s.size_diff for s in found) / max(1, opened) / 1024:.1f} KB per call")
    for stat in found[:10]:
        print(f"\n{stat.size_diff / max(1, opened) / 1024:.2f} KB per call")
        for frame in list(stat.traceback)[-10:]:
            print(f"    {frame.filename.split('site-packages/')[-1]}:{frame.lineno}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
