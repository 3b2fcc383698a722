"""Measure tools/call latency of a one-step app on a live Toolpress (embedded by default).

Usage: .venv/bin/python bench/call_latency.py [--calls 200] [--repeats 3] [--out docs/benchmarks.md]
Set TOOLPRESS_BROKER_URL / TOOLPRESS_DATABASE_URL to measure another deployment (then start
`toolpress worker` yourself). Results are medians over repeats with min/max.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx
from mcp import Client

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ECHO_APP = """\
name: Echo
description: Returns the text it is given.
tool_name: echo
inputs:
  - name: text
    type: string
    required: true
steps:
  - id: echo
    type: template
    template: "{{ inputs.text }}"
outputs:
  - name: text
    type: string
    value: "{{ steps.echo.text }}"
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(workdir: Path) -> tuple[subprocess.Popen[bytes], dict[str, str], str]:
    port = _port()
    env = {**os.environ, "TOOLPRESS_DATA_DIR": str(workdir), "TOOLPRESS_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "TOOLPRESS_LOG_LEVEL": "WARNING", "TOOLPRESS_LOAD_EXAMPLES": "false"}
    proc = subprocess.Popen([str(BIN / "toolpress"), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    spec = workdir / "echo.yaml"
    spec.write_text(ECHO_APP)
    run = lambda *a: subprocess.run([str(BIN / "toolpress"), *a], env=env, capture_output=True, text=True, check=True).stdout.strip()  # noqa: E731
    app_id = run("apps", "import", str(spec))
    run("apps", "publish", app_id)
    return proc, env, run("mcp", "enable", app_id)


async def _measure(url: str, mode: str, calls: int) -> list[float]:
    samples = []
    async with Client(url, mode=mode) as client:
        await client.list_tools()
        for _ in range(10):
            await client.call_tool("echo", {"text": "warm"})
        for i in range(calls):
            t0 = time.perf_counter()
            result = await client.call_tool("echo", {"text": f"hello {i}"})
            samples.append((time.perf_counter() - t0) * 1000)
            assert result.structured_content == {"text": f"hello {i}"}
    return samples


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        proc, _env, url = _start(Path(tmp))
        try:
            for mode in ("legacy", "2026-07-28"):
                p50s, p95s = [], []
                for _ in range(args.repeats):
                    samples = anyio.run(_measure, url, mode, args.calls)
                    p50s.append(statistics.median(samples))
                    p95s.append(_pct(samples, 95))
                rows.append((mode, p50s, p95s))
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    lines = [
        f"### tools/call latency, embedded default, one-step app ({args.calls} calls x {args.repeats} repeats, concurrency 1)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        "| protocol | p50 ms (median [min–max]) | p95 ms (median [min–max]) |",
        "|---|---|---|",
    ]
    for mode, p50s, p95s in rows:
        lines.append(
            f"| {'handshake (2025-11-25)' if mode == 'legacy' else mode} | "
            f"{statistics.median(p50s):.1f} [{min(p50s):.1f}–{max(p50s):.1f}] | "
            f"{statistics.median(p95s):.1f} [{min(p95s):.1f}–{max(p95s):.1f}] |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
