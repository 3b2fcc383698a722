"""Toolpress benchmark harness: one command, every system side by side, one run, one machine.

Usage: .venv/bin/python bench/run.py [--quick] [--smoke] [--out docs/benchmarks.md] [--skip-gradio]

Systems (same echo tool, same client: the `mcp` SDK `Client` over Streamable HTTP on loopback):
  bare    the `mcp` SDK low-level Server + StreamableHTTPSessionManager under uvicorn (the floor), stateless
  bare_stateful  the same with a session per client (reference: the cost of stateless mode itself)
  gradio  Gradio `mcp_server=True` in its own virtualenv (bench/.venv-gradio, created on first use), queued
  gradio_noqueue  the same with `queue=False` (the function runs in the request handler)
  embedded  `toolpress serve`, defaults (SQLite, in-memory broker, worker threads in the API process)
  redis   `toolpress serve` + 2 `toolpress worker --concurrency 2`, its own redis-server as broker, PostgreSQL,
          production env

Every figure is the median over repeats with [min–max]; ratios are computed from the same run.
Results: docs/benchmarks.md (Markdown), docs/img/*.png (matplotlib Agg), bench/results/last-MODE.json (raw, or `--raw`).
`--smoke` is a tiny mode (bare + embedded, a few calls) used by tests/bench/test_harness_smoke.py.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import anyio
from measure import (
    RedisObserver,
    bulk_apps,
    celery_round_trip,
    db_work,
    engine_overhead,
    latency_c1,
    load_cn,
    lookup_latency,
    memory_inflight,
    progress_delay,
)
from systems import (
    BENCH,
    PROGRESS_APP,
    REPO,
    SLOW_APP,
    Bare,
    BareStateful,
    Gradio,
    GradioNoQueue,
    System,
    Toolpress,
)


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
            if key.startswith("gradio"):
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
    if cfg.get("db_calls") and isinstance(systems.get("redis"), Toolpress):
        log("Toolpress Redis+PG: PostgreSQL work per call")
        r = guarded(results, "redis db work", anyio.run, db_work, systems["redis"], cfg["db_calls"])
        if r:
            results["db_work"] = r
            log(f"   {r}")
    # 3. Toolpress-only figures
    for key in ("embedded", "redis"):
        tp = systems.get(key)
        if not isinstance(tp, Toolpress) or not cfg.get("toolpress_figures", True):
            continue
        log(f"{tp.name}: progress delay")
        purl = guarded(results, f"{key} publish progress", tp.publish, PROGRESS_APP, "Progress")
        if purl:
            obs = RedisObserver(tp.broker_url) if tp.production else None
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
        if not isinstance(tp, Toolpress) or not cfg["inflight"]:
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
    parser.add_argument("--compare", metavar="LABEL",
                        help="before/after mode: bare SDK + both Toolpress stacks, call latency, throughput and "
                             "memory only; raw results go to bench/results/compare-LABEL.json, docs are left alone")
    parser.add_argument("--repeats", type=int, help="repeats of the latency and throughput loops (0 skips them)")
    parser.add_argument("--inflight", type=int, help="in-flight slow calls for the memory figure (0 skips it)")
    parser.add_argument("--skip-gradio", action="store_true")
    parser.add_argument("--skip-redis", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--img", type=Path, default=REPO / "docs" / "img")
    parser.add_argument("--raw", type=Path, help="where the raw results go (default: bench/results/last-MODE.json)")
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
    if args.compare:
        cfg = dict(repeats=2, c1_calls=60, conc=[64], duration=4.0, inflight=1000, engine_repeats=0,
                   celery_calls=0, toolpress_figures=False, db_calls=50)
    if args.inflight is not None:
        cfg["inflight"] = args.inflight
    if args.repeats is not None:
        cfg["repeats"] = args.repeats
        cfg["db_calls"] = cfg.get("db_calls") if args.repeats else 0
    mode = f"compare-{args.compare}" if args.compare else "smoke" if args.smoke else "quick" if args.quick else "full"
    results: dict[str, Any] = {"mode": mode, "cfg": cfg, "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                           "platform": platform.platform(), "load_before": os.getloadavg()},
                               "systems": {}, "progress": {}, "memory": {}, "scale": {}, "ref": {}}
    kinds: list[tuple[str, Any]] = [("bare", lambda w: Bare(w))]
    if not args.smoke:
        kinds.append(("bare_stateful", lambda w: BareStateful(w)))
    if not args.smoke and not args.skip_gradio and not args.compare:
        kinds.append(("gradio", lambda w: Gradio(w)))
        kinds.append(("gradio_noqueue", lambda w: GradioNoQueue(w)))
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
        if cfg["engine_repeats"]:
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
    raw = args.raw or BENCH / "results" / (f"{mode}.json" if args.compare else f"last-{mode}.json")
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(results, indent=1, default=str))
    if args.compare:
        from report import compare_summary  # bench/report.py

        print(compare_summary(results), flush=True)
        log(f"wrote {raw}")
        return 0
    from report import write_report  # bench/report.py

    write_report(results, args.out, args.img)
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    sys.exit(main())
