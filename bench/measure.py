"""The measurements: latency, load, progress delay, memory, lookup scale and reference lines."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import psutil
from cpu_parts import cpu_by_part, sample_cpu
from mcp import Client
from systems import (
    BENCH,
    BIN,
    CALL_TIMEOUT,
    REDIS_BASE,
    REDIS_DB,
    REPO,
    System,
    Toolpress,
    stop_proc,
    wait_until,
)


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


async def latency_c1(sut: System, calls: int, mark: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Sequential calls on one session after 5 warm-ups; `mark` (e.g. a CPU sample) is taken right after the
    warm-ups and right after the last call, so what it measures covers the timed calls only ("marks")."""
    samples: list[float] = []
    errors = 0
    marks: list[Any] = []
    async with Client(sut.url, mode=sut.mode) as client:
        for i in range(5):
            await client.call_tool(sut.tool, {"text": f"warm {i}"})
        if mark is not None:
            marks.append(mark())
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
        if mark is not None:
            marks.append(mark())
    found = {"p50": pct(samples, 50), "p95": pct(samples, 95), "p99": pct(samples, 99), "n": len(samples),
             "errors": errors}
    return {**found, "marks": marks} if mark is not None else found


PG_SETTLE = 11.0  # PostgreSQL backends flush their statistics within 10 s of going idle


def pg_counters(db_url: str) -> dict[str, int]:
    """Transactions and table scans PostgreSQL has counted for one database so far."""
    import psycopg

    dsn = db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        commits, rollbacks = conn.execute(
            "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = current_database()").fetchone()
        scans = conn.execute("SELECT coalesce(sum(coalesce(idx_scan, 0) + seq_scan), 0) FROM pg_stat_user_tables"
                             ).fetchone()[0]
    return {"commits": int(commits), "rollbacks": int(rollbacks), "scans": int(scans)}


async def load_cn(sut: System, sessions: int, duration: float) -> dict[str, Any]:
    """`sessions` concurrent client sessions, each calling in a loop for `duration` s.

    Besides wall-clock figures it records the CPU time the system spent per successful call (far less
    sensitive to other load on the machine than latency): `cpu_parts_ms_per_call` by part (api, sandbox,
    worker, broker, database: bench/cpu_parts.py; a system has only the parts it runs), and
    `cpu_ms_per_call`, the sum of the parts. That sum includes the production system's own Redis and
    its PostgreSQL backends; before the breakdown existed it counted only the processes the system started.

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
                    except anyio.get_cancelled_exc_class():
                        st["errors"] += 1  # still in flight when the run's outer bound cancelled it
                        st["timeouts"] += 1
                        raise
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
            cpu_start = sample_cpu(sut)
            t_start = time.perf_counter()
            start_evt.set()
    t_end = time.perf_counter()
    parts_ms = {part: seconds * 1000 / max(1, len(samples))
                for part, seconds in cpu_by_part(cpu_start, sample_cpu(sut)).items()}
    errors = st["errors"] + st["inflight"] + st["failed_open"] + (sessions - st["opened"] - st["failed_open"])
    elapsed = max(duration, t_end - t_start) if t_start else duration
    out = {"throughput": len(samples) / elapsed, "p50": pct(samples, 50), "p95": pct(samples, 95),
           "n": len(samples), "errors": errors, "timeouts": st["timeouts"], "sessions_failed": st["failed_open"],
           "elapsed": elapsed, "cpu_ms_per_call": sum(parts_ms.values()), "cpu_parts_ms_per_call": parts_ms}
    return out


# --------------------------------------------------------------------------- Toolpress-specific


async def db_work(tp: Toolpress, calls: int) -> dict[str, float]:
    """PostgreSQL transactions and table scans per echo call (sequential calls, statistics settled)."""
    async with Client(tp.url, mode=tp.mode) as client:
        for i in range(3):
            await client.call_tool(tp.tool, {"text": f"warm {i}"})
        await anyio.sleep(PG_SETTLE)
        before = await anyio.to_thread.run_sync(pg_counters, tp.db_url)
        for i in range(calls):
            await client.call_tool(tp.tool, {"text": f"db {i}"})
    await anyio.sleep(PG_SETTLE)
    after = await anyio.to_thread.run_sync(pg_counters, tp.db_url)
    return {f"{key}_per_call": (after[key] - before[key]) / calls for key in before}


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


def memory_of(pid: int) -> tuple[int, int]:
    """RSS and PSS (bytes) of a process and its children, summed.

    RSS counts a page shared by several of them (the sandbox processes forked from one fork server share
    most of theirs) once per process; PSS splits it between them, so the tree's PSS is what it holds.
    """
    proc = psutil.Process(pid)
    rss = pss = 0
    for one in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            info = one.memory_full_info()
            rss, pss = rss + info.rss, pss + info.pss
    return rss, pss


SLOW_CALL_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
                     "MCP-Protocol-Version": "2025-11-25"}


def slow_call(i: int) -> dict[str, Any]:
    """The raw JSON-RPC tools/call of the slow app (bench/run.py SLOW_APP), request id i."""
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "slow", "arguments": {"text": f"m{i}"}}}


async def memory_inflight(tp: Toolpress, url: str, n: int) -> dict[str, Any]:
    """Open n raw Streamable HTTP tools/call POSTs to a slow app and sample the API process's RSS and PSS."""
    base_rss, base_pss = memory_of(tp.api_pid)
    opened = 0
    done = anyio.Event()
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=0)
    peak, peak_pss = base_rss, base_pss

    def sample() -> None:
        nonlocal peak, peak_pss
        rss, pss = memory_of(tp.api_pid)
        peak, peak_pss = max(peak, rss), max(peak_pss, pss)

    counters = None
    waiting_db = 0.0
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(120, connect=60, pool=120)) as http:

        async def one(i: int) -> None:
            nonlocal opened
            with contextlib.suppress(Exception):
                async with http.stream("POST", url, json=slow_call(i), headers=SLOW_CALL_HEADERS) as resp:
                    if resp.status_code == 200:
                        opened += 1
                    await done.wait()

        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(one, i)
            deadline = time.perf_counter() + 60 + n * 0.05
            while opened < n and time.perf_counter() < deadline:
                await anyio.sleep(0.2)
                sample()
            counters = await anyio.to_thread.run_sync(pg_counters, tp.db_url) if tp.production else None
            hold_start = time.perf_counter()
            for _ in range(10):
                await anyio.sleep(0.3)
                sample()
            if counters is not None:
                # transactions per second in the hold window (each DB session is at least one); it includes
                # runs still being created and workers' checks, and busy backends report with up to 1 s lag
                after = await anyio.to_thread.run_sync(pg_counters, tp.db_url)
                waiting_db = sum(after[k] - counters[k] for k in ("commits", "rollbacks")) / (time.perf_counter() - hold_start)
            held = opened
            done.set()
            tg.cancel_scope.cancel()
    mb = 1024 * 1024
    out = {"n": n, "opened": held, "base_mb": base_rss / mb, "peak_mb": peak / mb,
           "per_stream_kb": (peak - base_rss) / max(1, held) / 1024, "base_pss_mb": base_pss / mb,
           "peak_pss_mb": peak_pss / mb}
    if counters is not None:
        out["db_xacts_per_s"] = waiting_db
    return out


def bulk_apps(tp: Toolpress, total: int) -> int:
    """Insert filler apps (with published versions and enabled endpoints) until `total` apps exist."""
    from sqlalchemy import create_engine, func, select, text

    sys.path.insert(0, str(REPO))
    from backend.models.app import (  # read-only use of the table definitions
        App,
        AppVersion,
    )
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


