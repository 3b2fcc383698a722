"""Toolpress benchmark harness: one command, every system side by side, one run, one machine.

Usage: .venv/bin/python bench/run.py [--quick] [--smoke] [--out docs/benchmarks.md] [--skip-gradio]

Systems (same echo tool, same client: the `mcp` SDK `Client` over Streamable HTTP on loopback):
  bare    the `mcp` SDK low-level Server + StreamableHTTPSessionManager under uvicorn (the floor)
  gradio  Gradio `mcp_server=True` in its own virtualenv (bench/.venv-gradio, created on first use)
  embedded  `toolpress serve`, defaults (SQLite, in-memory broker, worker threads in the API process)
  redis   `toolpress serve` + 2 `toolpress worker --concurrency 2`, Redis broker, PostgreSQL, production env

Every figure is the median over repeats with [min–max]; ratios are computed from the same run.
Results: docs/benchmarks.md (Markdown), docs/img/*.png (matplotlib Agg), bench/results/last.json (raw).
`--smoke` is a tiny mode (bare + embedded, a few calls) used by tests/bench/test_harness_smoke.py.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

import anyio
import httpx
import psutil
from mcp import Client

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
BIN = Path(sys.executable).parent
GRADIO_VENV = BENCH / ".venv-gradio"
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "9"))
CALL_TIMEOUT = 30.0

ECHO_APP = """\
name: __NAME__
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

PROGRESS_APP = """\
name: __NAME__
description: Three template steps, one progress notification each.
tool_name: echo3
inputs:
  - name: text
    type: string
    required: true
steps:
  - id: s1
    type: template
    template: "{{ inputs.text }}"
  - id: s2
    type: template
    template: "{{ steps.s1.text }}"
  - id: s3
    type: template
    template: "{{ steps.s2.text }}"
outputs:
  - name: text
    type: string
    value: "{{ steps.s3.text }}"
"""

# No sleep step exists and http_request refuses loopback without an allow-list the backend does not set,
# so the slow app burns time in sandboxed template loops (each step well under the 10 s render limit).
SLOW_APP = """\
name: __NAME__
description: Slow on purpose (template loops).
tool_name: slow
inputs:
  - name: text
    type: string
    required: true
steps:
""" + "".join(
    f"""  - id: w{i}
    type: template
    template: "{{% for i in range(900000) %}}{{% endfor %}}{{{{ inputs.text }}}}"
""" for i in range(20)
) + """outputs:
  - name: text
    type: string
    value: "{{ steps.w19.text }}"
"""


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def stop_proc(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class System:
    """A running system under test: processes, an MCP URL for the echo tool, and how to tear it down."""

    name = "?"
    mode = "legacy"
    tool = "echo"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        self.url = ""
        self.api_pid = 0

    def spawn(self, label: str, argv: list[str], env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        log = self.workdir / f"{label}.log"
        self.logs.append(log)
        handle = open(log, "wb")  # noqa: SIM115
        proc = subprocess.Popen(argv, env=env, cwd=cwd or self.workdir, stdout=handle, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def tail(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in self.logs if p.exists())

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop_proc(proc)
        self.procs.clear()


class Bare(System):
    name = "bare SDK"

    def start(self) -> None:
        port = free_port()
        proc = self.spawn("bare", [sys.executable, str(BENCH / "servers" / "bare_sdk.py"), str(port)])
        self.api_pid = proc.pid
        wait_until(lambda: port_open(port), 60, "bare SDK server")
        self.url = f"http://127.0.0.1:{port}/mcp/"


def ensure_gradio_venv() -> Path:
    python = GRADIO_VENV / "bin" / "python"
    if not python.exists() or subprocess.run([str(python), "-c", "import gradio"], capture_output=True).returncode:
        print("creating bench/.venv-gradio (pip install gradio[mcp]) ...", flush=True)
        subprocess.run(["python3", "-m", "venv", str(GRADIO_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "gradio[mcp]"], check=True)
    return python


class Gradio(System):
    name = "Gradio"

    def start(self) -> None:
        python = ensure_gradio_venv()
        port = free_port()
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        proc = self.spawn("gradio", [str(python), str(BENCH / "servers" / "gradio_echo.py"), str(port)], env=env)
        self.api_pid = proc.pid
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/"), 120, "Gradio")
        self.url = f"http://127.0.0.1:{port}/gradio_api/mcp/"
        self.version = subprocess.run([str(python), "-c", "import gradio;print(gradio.__version__)"],
                                      capture_output=True, text=True).stdout.strip()


class Toolpress(System):
    """Embedded (`production=False`) or Redis + PostgreSQL + 2 workers."""

    def __init__(self, workdir: Path, production: bool) -> None:
        super().__init__(workdir)
        self.production = production
        self.name = "Toolpress Redis+PG" if production else "Toolpress embedded"
        self.db_url = ""
        self.queue = ""

    def cli(self, *args: str) -> str:
        res = subprocess.run([str(BIN / "toolpress"), *args], env=self.env, cwd=self.workdir,
                             capture_output=True, text=True, timeout=120)
        if res.returncode:
            raise RuntimeError(f"toolpress {' '.join(args)} failed: {res.stderr[-2000:]}")
        return res.stdout.strip()

    def start(self) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLPRESS_")}
        env.update(TOOLPRESS_DATA_DIR=str(self.workdir / "data"), TOOLPRESS_PUBLIC_URL=f"http://127.0.0.1:{self.port}",
                   TOOLPRESS_LOG_LEVEL="WARNING", TOOLPRESS_LOAD_EXAMPLES="false", PYTHONUNBUFFERED="1")
        if self.production:
            import psycopg

            dbname = f"toolpress_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{dbname}"')
            self.db_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + dbname
            self.queue = f"toolpress-bench-{uuid.uuid4().hex[:8]}"
            env.update(TOOLPRESS_ENV="production", TOOLPRESS_SECRET_KEY=secrets.token_hex(32),
                       TOOLPRESS_DATABASE_URL=self.db_url, TOOLPRESS_BROKER_URL=f"{REDIS_BASE}/{REDIS_DB}",
                       TOOLPRESS_QUEUE=self.queue)
        self.env = env
        if self.production:
            self.cli("db", "upgrade")
            for i in range(2):
                proc = self.spawn(f"worker{i}", [str(BIN / "toolpress"), "worker", "--concurrency", "2"], env=env)
                log = self.logs[-1]
                # at WARNING level Celery does not log "ready."; the banner's queue list comes just before it,
                # and the warm-up calls of every measurement confirm the workers consume
                wait_until(lambda: proc.poll() is not None or "[queues]" in log.read_text(errors="replace"), 120, "worker")
                time.sleep(2)
                if proc.poll() is not None:
                    raise RuntimeError(f"worker exited: {self.tail()}")
        proc = self.spawn("api", [str(BIN / "toolpress"), "serve", "--port", str(self.port)], env=env)
        self.api_pid = proc.pid

        def healthy() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"toolpress serve exited: {self.tail()}")
            return http_ok(f"http://127.0.0.1:{self.port}/healthz")

        wait_until(healthy, 120, "toolpress serve")
        if not self.db_url:
            self.db_url = f"sqlite:///{(self.workdir / 'data' / 'toolpress.db').resolve()}"
        self.url = self.publish(ECHO_APP, "Echo")

    def publish(self, template: str, name: str) -> str:
        spec = self.workdir / f"{uuid.uuid4().hex}.yaml"
        spec.write_text(template.replace("__NAME__", f"{name} {uuid.uuid4().hex[:6]}"))
        app_id = self.cli("apps", "import", str(spec))
        self.cli("apps", "publish", app_id)
        url = self.cli("mcp", "enable", app_id)
        self.app_ids = getattr(self, "app_ids", {})
        self.app_ids[url] = int(app_id)
        return url

    def stop(self) -> None:
        super().stop()
        if self.production and self.db_url:
            import psycopg

            name = self.db_url.rsplit("/", 1)[1]
            with contextlib.suppress(Exception), psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            with contextlib.suppress(Exception):
                import redis

                redis.Redis.from_url(f"{REDIS_BASE}/{REDIS_DB}").delete(self.queue)


# --------------------------------------------------------------------------- load


def pct(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _ok(result: Any, text: str) -> bool:
    if result.is_error:
        return False
    if result.structured_content and result.structured_content.get("text") == text:
        return True
    return any(getattr(c, "text", None) == text for c in result.content)


async def latency_c1(sut: System, calls: int) -> dict[str, Any]:
    samples: list[float] = []
    errors = 0
    async with Client(sut.url, mode=sut.mode) as client:
        for i in range(5):
            await client.call_tool(sut.tool, {"text": f"warm {i}"})
        with anyio.move_on_after(max(30.0, calls * 0.5)):
            for i in range(calls):
                t0 = time.perf_counter()
                try:
                    with anyio.fail_after(CALL_TIMEOUT):
                        res = await client.call_tool(sut.tool, {"text": f"hello {i}"})
                    if _ok(res, f"hello {i}"):
                        samples.append((time.perf_counter() - t0) * 1000)
                    else:
                        errors += 1
                except Exception:
                    errors += 1
    return {"p50": pct(samples, 50), "p95": pct(samples, 95), "p99": pct(samples, 99), "n": len(samples),
            "errors": errors}


async def load_cn(sut: System, sessions: int, duration: float) -> dict[str, Any]:
    """`sessions` concurrent client sessions, each calling in a loop for `duration` s.

    Bounded: sessions get 30 s (+0.3 s each) to open, calls time out after CALL_TIMEOUT, and whatever is
    still in flight CALL_TIMEOUT after the window closes is cancelled and counted as an error.
    """
    samples: list[float] = []
    st = {"errors": 0, "opened": 0, "failed_open": 0, "inflight": 0, "timeouts": 0}
    start_evt = anyio.Event()
    t_start = 0.0

    async def one(idx: int) -> None:
        try:
            async with Client(sut.url, mode=sut.mode) as client:
                with anyio.fail_after(CALL_TIMEOUT):
                    await client.call_tool(sut.tool, {"text": "warm"})
                st["opened"] += 1
                await start_evt.wait()
                i = 0
                while time.perf_counter() < t_start + duration:
                    text = f"s{idx} c{i}"
                    t0 = time.perf_counter()
                    st["inflight"] += 1
                    try:
                        with anyio.fail_after(CALL_TIMEOUT):
                            res = await client.call_tool(sut.tool, {"text": text})
                        if _ok(res, text):
                            samples.append((time.perf_counter() - t0) * 1000)
                        else:
                            st["errors"] += 1
                    except TimeoutError:
                        st["errors"] += 1
                        st["timeouts"] += 1
                    except Exception:
                        st["errors"] += 1
                    finally:
                        st["inflight"] -= 1
                    i += 1
        except Exception:
            if not start_evt.is_set():
                st["failed_open"] += 1

    with anyio.move_on_after(30 + sessions * 0.3 + duration + CALL_TIMEOUT + 5):
        async with anyio.create_task_group() as tg:
            for idx in range(sessions):
                tg.start_soon(one, idx)
            open_deadline = time.perf_counter() + 30 + sessions * 0.3
            while st["opened"] + st["failed_open"] < sessions and time.perf_counter() < open_deadline:
                await anyio.sleep(0.02)
            t_start = time.perf_counter()
            start_evt.set()
    t_end = time.perf_counter()
    errors = st["errors"] + st["inflight"] + st["failed_open"] + (sessions - st["opened"] - st["failed_open"])
    elapsed = max(duration, t_end - t_start) if t_start else duration
    return {"throughput": len(samples) / elapsed, "p50": pct(samples, 50), "p95": pct(samples, 95),
            "n": len(samples), "errors": errors, "timeouts": st["timeouts"], "sessions_failed": st["failed_open"],
            "elapsed": elapsed}


# --------------------------------------------------------------------------- Toolpress-specific


def run_rows(db_url: str, app_id: int) -> list[dict[str, Any]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, inputs, trace FROM run WHERE app_id = :a"), {"a": app_id}).all()
    finally:
        engine.dispose()
    out = []
    for rid, inputs, trace in rows:
        inputs = json.loads(inputs) if isinstance(inputs, str) else inputs
        trace = json.loads(trace) if isinstance(trace, str) else trace
        out.append({"id": rid, "inputs": inputs, "trace": trace or []})
    return out


def _ts(value: Any) -> float | None:
    if not value:
        return None
    d = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return d.timestamp()


class RedisObserver:
    """PSUBSCRIBE toolpress:run:* on the stack's Redis: when each progress event passed through Redis."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.psubscribe("toolpress:run:*")
        self.seen: dict[tuple[str, int], float] = {}
        self.stop_flag = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop_flag:
            msg = self.pubsub.get_message(timeout=0.2)
            if msg and msg.get("type") == "pmessage":
                now = time.time()
                with contextlib.suppress(Exception):
                    ev = json.loads(msg["data"])
                    if ev.get("type") == "progress":
                        self.seen[(msg["channel"].decode().split(":")[-1], int(ev["done"]))] = now

    def close(self) -> None:
        self.stop_flag = True
        self.thread.join(timeout=2)
        self.pubsub.close()
        self.client.close()


async def progress_delay(tp: Toolpress, url: str, calls: int, observer: RedisObserver | None) -> dict[str, Any]:
    received: dict[str, dict[int, float]] = {}
    async with Client(url, mode="legacy") as client:
        for i in range(3):
            await client.call_tool("echo3", {"text": f"warm{i}"})
        for i in range(calls):
            text = f"p{i}-{uuid.uuid4().hex[:6]}"
            got: dict[int, float] = {}

            async def cb(progress: float, total: float | None, message: str | None, got=got) -> None:
                got[int(progress)] = time.time()

            with anyio.fail_after(CALL_TIMEOUT):
                await client.call_tool("echo3", {"text": text}, progress_callback=cb)
            received[text] = got
    rows = run_rows(tp.db_url, tp.app_ids[url])
    trace_delays: list[float] = []
    redis_delays: list[float] = []
    for row in rows:
        got = received.get((row["inputs"] or {}).get("text", ""))
        if not got:
            continue
        steps = [t for t in row["trace"] if t.get("type") == "template"]
        for k, step in enumerate(steps, start=1):
            ended = _ts(step.get("ended_at"))
            if ended is not None and k in got:
                trace_delays.append((got[k] - ended) * 1000)
            if observer and (row["id"], k) in observer.seen and k in got:
                redis_delays.append((got[k] - observer.seen[(row["id"], k)]) * 1000)
    out = {"trace_p50": pct(trace_delays, 50), "trace_p95": pct(trace_delays, 95), "trace_n": len(trace_delays)}
    if observer:
        out.update(redis_p50=pct(redis_delays, 50), redis_p95=pct(redis_delays, 95), redis_n=len(redis_delays))
    return out


def rss_of(pid: int) -> int:
    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total


async def memory_inflight(tp: Toolpress, url: str, n: int) -> dict[str, Any]:
    """Open n raw Streamable HTTP tools/call POSTs to a slow app and sample the API process RSS."""
    base_rss = rss_of(tp.api_pid)
    opened = 0
    done = anyio.Event()
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": "2025-11-25"}
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=0)
    peak = base_rss
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(120, connect=60, pool=120)) as http:

        async def one(i: int) -> None:
            nonlocal opened
            body = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                    "params": {"name": "slow", "arguments": {"text": f"m{i}"}}}
            with contextlib.suppress(Exception):
                async with http.stream("POST", url, json=body, headers=headers) as resp:
                    if resp.status_code == 200:
                        opened += 1
                    await done.wait()

        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(one, i)
            deadline = time.perf_counter() + 60 + n * 0.05
            while opened < n and time.perf_counter() < deadline:
                await anyio.sleep(0.2)
                peak = max(peak, rss_of(tp.api_pid))
            for _ in range(10):
                await anyio.sleep(0.3)
                peak = max(peak, rss_of(tp.api_pid))
            held = opened
            done.set()
            tg.cancel_scope.cancel()
    mb = 1024 * 1024
    return {"n": n, "opened": held, "base_mb": base_rss / mb, "peak_mb": peak / mb,
            "per_stream_kb": (peak - base_rss) / max(1, held) / 1024}


def bulk_apps(tp: Toolpress, total: int) -> int:
    """Insert filler apps (with published versions and enabled endpoints) until `total` apps exist."""
    from sqlalchemy import create_engine, func, select, text

    sys.path.insert(0, str(REPO))
    from backend.models.app import App, AppVersion  # read-only use of the table definitions
    from backend.models.endpoint import McpEndpoint

    engine = create_engine(tp.db_url)
    try:
        with engine.begin() as conn:
            have = conn.execute(select(func.count()).select_from(App.__table__)).scalar_one()
            owner = conn.execute(select(App.__table__.c.owner_id).limit(1)).scalar_one()
            spec = conn.execute(select(App.__table__.c.spec).limit(1)).scalar_one()
            spec = json.loads(spec) if isinstance(spec, str) else spec
            now = dt.datetime.now(dt.UTC)
            need = total - have
            batch = 2000
            tag = uuid.uuid4().hex[:6]
            for start in range(0, need, batch):
                k = min(batch, need - start)
                apps = [{"owner_id": owner, "name": f"filler {tag} {start + j}", "spec": {**spec, "name": f"filler {tag} {start + j}"},
                         "created_at": now, "updated_at": now} for j in range(k)]
                conn.execute(App.__table__.insert(), apps)
                ids = [r[0] for r in conn.execute(
                    select(App.__table__.c.id).where(App.__table__.c.name.like(f"filler {tag} %"))
                    .order_by(App.__table__.c.id.desc()).limit(k)).all()]
                conn.execute(AppVersion.__table__.insert(),
                             [{"app_id": a, "number": 1, "spec": spec, "created_at": now} for a in ids])
                conn.execute(McpEndpoint.__table__.insert(),
                             [{"app_id": a, "enabled": True, "nonce": secrets.token_hex(16),
                               "secret_hash": secrets.token_hex(32), "created_at": now, "rotated_at": now} for a in ids])
                # point each filler app at its version
                conn.execute(text("UPDATE app SET published_version_id = (SELECT max(v.id) FROM appversion v "
                                  "WHERE v.app_id = app.id) WHERE published_version_id IS NULL"))
            if tp.db_url.startswith("postgresql"):
                conn.execute(text("ANALYZE"))
            return conn.execute(select(func.count()).select_from(App.__table__)).scalar_one()
    finally:
        engine.dispose()


async def lookup_latency(tp: Toolpress, calls: int) -> dict[str, Any]:
    list_samples: list[float] = []
    miss_samples: list[float] = []
    async with Client(tp.url, mode="legacy") as client:
        for _ in range(5):
            await client.list_tools()
        for _ in range(calls):
            t0 = time.perf_counter()
            await client.list_tools()
            list_samples.append((time.perf_counter() - t0) * 1000)
    bad = tp.url.rsplit("/mcp/", 1)[0] + "/mcp/" + secrets.token_urlsafe(32) + "/mcp"
    async with httpx.AsyncClient() as http:
        for _ in range(calls):
            t0 = time.perf_counter()
            r = await http.post(bad, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                headers={"Accept": "application/json, text/event-stream"})
            miss_samples.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 404, r.status_code
    return {"list_p50": pct(list_samples, 50), "list_p95": pct(list_samples, 95),
            "miss_p50": pct(miss_samples, 50), "miss_p95": pct(miss_samples, 95)}


# --------------------------------------------------------------------------- references


def engine_overhead(repeats: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, str(BENCH / "engine" / "bench_engine.py"), "--repeats", str(repeats)],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    vals = {}
    for key, label in (("median", "run, median"), ("min", "run, min"), ("max", "run, max")):
        m = re.search(rf"\| {re.escape(label)} \| ([\d.]+) \|", out)
        if m:
            vals[key] = float(m.group(1))
    return vals


def celery_round_trip(workdir: Path, calls: int) -> dict[str, float]:
    queue = f"bench-ref-{uuid.uuid4().hex[:8]}"
    broker = f"{REDIS_BASE}/{REDIS_DB}"
    env = {**os.environ, "BENCH_CELERY_BROKER": broker, "BENCH_CELERY_QUEUE": queue,
           "PYTHONPATH": str(BENCH) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    log = workdir / "celery_ref.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen([str(BIN / "celery"), "-A", "celery_ref", "worker", "--pool", "solo", "-Q", queue,
                                 "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                                env=env, cwd=BENCH, stdout=handle, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "ready." in log.read_text(errors="replace") or proc.poll() is not None, 90, "celery worker")
        os.environ.update(BENCH_CELERY_BROKER=broker, BENCH_CELERY_QUEUE=queue)
        sys.path.insert(0, str(BENCH))
        import celery_ref

        celery_ref.app.conf.broker_url = broker
        celery_ref.app.conf.result_backend = broker
        celery_ref.app.conf.task_default_queue = queue
        for _ in range(10):
            celery_ref.noop.apply_async(("w",), queue=queue).get(timeout=30)
        samples = []
        for i in range(calls):
            t0 = time.perf_counter()
            celery_ref.noop.apply_async((str(i),), queue=queue).get(timeout=30)
            samples.append((time.perf_counter() - t0) * 1000)
    finally:
        stop_proc(proc)
        with contextlib.suppress(Exception):
            import redis

            redis.Redis.from_url(broker).delete(queue)
    # a Redis pub/sub hop
    import redis

    r = redis.Redis.from_url(broker)
    ps = r.pubsub(ignore_subscribe_messages=True)
    chan = f"bench-hop-{uuid.uuid4().hex[:6]}"
    ps.subscribe(chan)
    time.sleep(0.1)
    hops = []
    for i in range(calls):
        t0 = time.perf_counter()
        r.publish(chan, str(i))
        while True:
            msg = ps.get_message(timeout=5)
            if msg:
                break
        hops.append((time.perf_counter() - t0) * 1000)
    ps.close()
    r.close()
    return {"celery_p50": pct(samples, 50), "celery_p95": pct(samples, 95),
            "pubsub_p50": pct(hops, 50), "pubsub_p95": pct(hops, 95)}


# --------------------------------------------------------------------------- orchestration


def agg(values: list[float]) -> dict[str, float] | None:
    vals = [v for v in values if v == v]  # drop NaN
    if not vals:
        return None
    return {"med": statistics.median(vals), "min": min(vals), "max": max(vals)}


def fmt(a: dict[str, float] | None, digits: int = 1) -> str:
    if not a:
        return "n/a"
    return f"{a['med']:.{digits}f} [{a['min']:.{digits}f}–{a['max']:.{digits}f}]"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def guarded(results: dict[str, Any], key: str, fn, *args):  # type: ignore[no-untyped-def]
    try:
        return fn(*args)
    except Exception as exc:
        log(f"{key} failed: {exc!r}")
        results.setdefault("failures", {})[key] = f"{type(exc).__name__}: {exc}"[:500]
        traceback.print_exc()
        return None


def _run_all(kinds, systems, results, cfg, tmpdir) -> None:  # type: ignore[no-untyped-def]
    # 1. start everything, side by side, for the whole run
    for key, make in kinds:
        work = tmpdir / key
        work.mkdir()
        sut = make(work)
        log(f"starting {sut.name}")
        try:
            sut.start()
            systems[key] = sut
            results["systems"][key] = {"name": sut.name, "c1": [], **{f"c{c}": [] for c in cfg["conc"]}}
            if key == "gradio":
                results["systems"][key]["version"] = getattr(sut, "version", "")
        except Exception as exc:
            log(f"{sut.name} failed to start: {exc!r}")
            results.setdefault("failures", {})[f"start {key}"] = str(exc)[:500]
            sut.stop()
    # 2. call latency and throughput: interleave systems inside each repeat (noise hits all alike)
    for rep in range(cfg["repeats"]):
        for key, sut in systems.items():
            log(f"rep {rep + 1}: {sut.name} c1")
            r = guarded(results, f"{key} c1 rep{rep}", anyio.run, latency_c1, sut, cfg["c1_calls"])
            if r:
                results["systems"][key]["c1"].append(r)
            for c in cfg["conc"]:
                log(f"rep {rep + 1}: {sut.name} c{c}")
                r = guarded(results, f"{key} c{c} rep{rep}", anyio.run, load_cn, sut, c, cfg["duration"])
                if r:
                    results["systems"][key][f"c{c}"].append(r)
                    log(f"   {r['throughput']:.1f}/s p95 {r['p95']:.1f} ms errors {r['errors']}")
    # 3. Toolpress-only figures
    for key in ("embedded", "redis"):
        tp = systems.get(key)
        if not isinstance(tp, Toolpress):
            continue
        log(f"{tp.name}: progress delay")
        purl = guarded(results, f"{key} publish progress", tp.publish, PROGRESS_APP, "Progress")
        if purl:
            obs = RedisObserver(f"{REDIS_BASE}/{REDIS_DB}") if tp.production else None
            try:
                reps = []
                for _ in range(cfg["repeats"]):
                    r = guarded(results, f"{key} progress", anyio.run, progress_delay, tp, purl,
                                cfg["progress_calls"], obs)
                    if r:
                        reps.append(r)
                results["progress"][key] = reps
            finally:
                if obs:
                    obs.close()
        log(f"{tp.name}: tools/list + secret lookup vs app count")
        results["scale"][key] = {}
        for count in cfg["scale"]:
            have = guarded(results, f"{key} bulk {count}", bulk_apps, tp, count)
            if have is None:
                break
            log(f"   {have} apps in the database")
            reps = [guarded(results, f"{key} lookup {count}", anyio.run, lookup_latency, tp, cfg["lookup_calls"])
                    for _ in range(cfg["repeats"])]
            results["scale"][key][str(count)] = [r for r in reps if r]
    # 4. memory last (it leaves slow runs behind; each stack is torn down right after)
    for key in ("embedded", "redis"):
        tp = systems.get(key)
        if not isinstance(tp, Toolpress):
            continue
        log(f"{tp.name}: memory with {cfg['inflight']} in-flight slow calls")
        surl = guarded(results, f"{key} publish slow", tp.publish, SLOW_APP, "Slow")
        if surl:
            r = guarded(results, f"{key} memory", anyio.run, memory_inflight, tp, surl, cfg["inflight"])
            if r:
                results["memory"][key] = r
                log(f"   {r}")
        tp.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer calls and repeats, N=50 in-flight calls")
    parser.add_argument("--smoke", action="store_true", help="tiny: bare SDK + Toolpress embedded, a few calls")
    parser.add_argument("--skip-gradio", action="store_true")
    parser.add_argument("--skip-redis", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--img", type=Path, default=REPO / "docs" / "img")
    args = parser.parse_args()

    if args.smoke:
        cfg = dict(repeats=1, c1_calls=10, conc=[8], duration=1.0, progress_calls=3, inflight=5,
                   scale=[10], lookup_calls=5, engine_repeats=3, celery_calls=0)
    elif args.quick:
        cfg = dict(repeats=2, c1_calls=60, conc=[8, 64], duration=3.0, progress_calls=20, inflight=50,
                   scale=[10, 1000, 10000], lookup_calls=30, engine_repeats=10, celery_calls=100)
    else:
        cfg = dict(repeats=3, c1_calls=100, conc=[8, 64], duration=5.0, progress_calls=30, inflight=1000,
                   scale=[10, 1000, 10000], lookup_calls=40, engine_repeats=30, celery_calls=200)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    results: dict[str, Any] = {"mode": mode, "cfg": cfg, "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                           "platform": platform.platform(), "load_before": os.getloadavg()},
                               "systems": {}, "progress": {}, "memory": {}, "scale": {}, "ref": {}}
    kinds: list[tuple[str, Any]] = [("bare", lambda w: Bare(w))]
    if not args.smoke and not args.skip_gradio:
        kinds.append(("gradio", lambda w: Gradio(w)))
    kinds.append(("embedded", lambda w: Toolpress(w, production=False)))
    if not args.smoke and not args.skip_redis:
        kinds.append(("redis", lambda w: Toolpress(w, production=True)))

    with tempfile.TemporaryDirectory(prefix="toolpress-bench-") as tmp:
        tmpdir = Path(tmp)
        # 1. start everything, side by side, for the whole run
        systems: dict[str, System] = {}
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            _run_all(kinds, systems, results, cfg, tmpdir)
        finally:
            for sut in systems.values():
                sut.stop()
        # 5. reference lines
        log("engine per-step overhead")
        eng = guarded(results, "engine", engine_overhead, cfg["engine_repeats"])
        if eng:
            results["ref"]["engine_us_per_step"] = eng
        if cfg["celery_calls"]:
            log("raw Celery round trip through Redis")
            cel = guarded(results, "celery", celery_round_trip, tmpdir, cfg["celery_calls"])
            if cel:
                results["ref"].update(cel)
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results["machine"]["load_after"] = os.getloadavg()
    (BENCH / "results").mkdir(exist_ok=True)
    (BENCH / "results" / f"last-{mode}.json").write_text(json.dumps(results, indent=1, default=str))
    from report import write_report  # bench/report.py

    write_report(results, args.out, args.img)
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    sys.exit(main())
