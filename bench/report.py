"""Turn bench/run.py results into docs/benchmarks.md (between markers) and PNG plots (matplotlib Agg).

Text outside the `<!-- bench:results -->` markers (hand-written notes, profiles) is kept as is.
Rerender from saved results: .venv/bin/python bench/report.py bench/results/last-full.json
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

from cpu_parts import PARTS

MARK = "<!-- bench:results -->"
ORDER = ["bare", "bare_stateful", "gradio", "gradio_noqueue", "embedded", "redis"]


def agg(values: list[float]) -> dict[str, float] | None:
    vals = [v for v in values if isinstance(v, (int, float)) and v == v]
    if not vals:
        return None
    return {"med": statistics.median(vals), "min": min(vals), "max": max(vals)}


def fmt(a: dict[str, float] | None, digits: int = 1) -> str:
    if not a:
        return "n/a"
    return f"{a['med']:.{digits}f} [{a['min']:.{digits}f}–{a['max']:.{digits}f}]"


def field(reps: list[dict[str, Any]], key: str) -> dict[str, float] | None:
    return agg([r.get(key) for r in reps if r])


def part_field(reps: list[dict[str, Any]], part: str) -> dict[str, float] | None:
    """Median [min–max] over repeats of one part's CPU ms per call (None where the system has no such part)."""
    return agg([r["cpu_parts_ms_per_call"][part] for r in reps if r and part in r.get("cpu_parts_ms_per_call", {})])


def cpu_parts_table(S: dict[str, Any], c: int) -> list[str]:
    """Markdown lines: CPU ms per call at `c` sessions, systems as rows, parts as columns, then the total."""
    reps_of = {key: S[key].get(f"c{c}", []) for key in ORDER if key in S}
    parts = [p for p in PARTS if any(part_field(reps, p) for reps in reps_of.values())]
    if not parts:
        return []
    L = [f"### CPU per call by process at {c} sessions (ms, median [min–max] over repeats)", "",
         "| system | " + " | ".join(parts) + " | total |", "|---|" + "---|" * (len(parts) + 1)]
    for key, reps in reps_of.items():
        cells = [fmt(part_field(reps, p), 2) if part_field(reps, p) else "–" for p in parts]
        L.append(f"| {S[key]['name']} | " + " | ".join(cells) + f" | {fmt(field(reps, 'cpu_ms_per_call'), 2)} |")
    L += ["", "Parts: `api` the server process (and its non-sandbox children), `sandbox` the multiprocessing fork "
          "server and the processes it forks, `worker` the `toolpress worker` processes, `broker` the system's own "
          "redis-server, `database` the PostgreSQL backends connected to its database (see bench/cpu_parts.py); "
          "– where a system has no such process. The total is the median of each repeat's sum, so it need not be "
          "the sum of the medians.", "",
          "The totals (and the CPU figures above and in the targets) now include the broker and database processes "
          "where the system has them (the production stack); runs before this table existed did not count them.",
          ""]
    return L


def ratio(a: dict[str, float] | None, b: dict[str, float] | None) -> float | None:
    if not a or not b or not b["med"]:
        return None
    return a["med"] / b["med"]


def rtxt(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}×"


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**not met**")


def plots(results: dict[str, Any], img: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img.mkdir(parents=True, exist_ok=True)
    made = []
    systems = [(k, results["systems"][k]) for k in ORDER if k in results["systems"]]
    # latency c1
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.25
    for j, p in enumerate(("p50", "p95", "p99")):
        meds, lo, hi, names = [], [], [], []
        for key, s in systems:
            a = field(s["c1"], p) or {"med": 0, "min": 0, "max": 0}
            meds.append(a["med"])
            lo.append(a["med"] - a["min"])
            hi.append(a["max"] - a["med"])
            names.append(s["name"])
        xs = [i + (j - 1) * width for i in range(len(systems))]
        ax.bar(xs, meds, width, yerr=[lo, hi], capsize=3, label=p)
    ax.set_xticks(range(len(systems)), [s["name"] for _, s in systems], fontsize=8)
    ax.set_ylabel("ms (log)")
    ax.set_yscale("log")
    ax.set_title("tools/call latency, concurrency 1 (median of repeats, min–max bars)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(img / "bench_latency_c1.png", dpi=110)
    plt.close(fig)
    made.append("bench_latency_c1.png")
    # throughput
    concs = [k for k in results["cfg"]["conc"]]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for j, c in enumerate(concs):
        meds, lo, hi = [], [], []
        for key, s in systems:
            a = field(s.get(f"c{c}", []), "throughput") or {"med": 0, "min": 0, "max": 0}
            meds.append(a["med"])
            lo.append(a["med"] - a["min"])
            hi.append(a["max"] - a["med"])
        xs = [i + (j - 0.5) * 0.35 for i in range(len(systems))]
        ax.bar(xs, meds, 0.35, yerr=[lo, hi], capsize=3, label=f"{c} sessions")
    ax.set_xticks(range(len(systems)), [s["name"] for _, s in systems], fontsize=8)
    ax.set_ylabel("calls/s")
    ax.set_title("tools/call throughput (median of repeats, min–max bars)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(img / "bench_throughput.png", dpi=110)
    plt.close(fig)
    made.append("bench_throughput.png")
    # scale
    if results.get("scale"):
        fig, ax = plt.subplots(figsize=(7, 3.6))
        for key, by_count in results["scale"].items():
            counts = sorted(int(c) for c in by_count if by_count[c])
            for metric, label in (("list_p50", "tools/list p50"), ("miss_p50", "unknown secret (404) p50")):
                ys = [field(by_count[str(c)], metric) for c in counts]
                if counts and all(ys):
                    ax.errorbar(counts, [y["med"] for y in ys],
                                yerr=[[y["med"] - y["min"] for y in ys], [y["max"] - y["med"] for y in ys]],
                                marker="o", capsize=3, label=f"{results['systems'].get(key, {}).get('name', key)}: {label}")
        ax.set_xscale("log")
        ax.set_xlabel("apps in the database")
        ax.set_ylabel("ms")
        ax.set_ylim(bottom=0)
        ax.set_title("lookup latency vs number of apps", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(img / "bench_scale.png", dpi=110)
        plt.close(fig)
        made.append("bench_scale.png")
    return made


def body(results: dict[str, Any], img: Path, out: Path) -> str:
    S = results["systems"]
    cfg = results["cfg"]
    m = results["machine"]
    L: list[str] = []
    L.append(f"Run: `{results['mode']}` mode, started {results['started']} UTC, finished {results.get('finished', '?')}; "
             f"{m['cpus']} cores, Python {m['python']}, {m['platform']}. Load average before/after: "
             f"{' '.join(f'{x:.2f}' for x in m['load_before'])} / {' '.join(f'{x:.2f}' for x in m.get('load_after', []))}.")
    L.append("")
    L.append("**Caveat:** client, servers, workers, Redis and PostgreSQL share the machine's cores, and whatever else "
             "runs on it (see the load average) shares them too. Absolute numbers are noisy; the ratios "
             "(measured in the same run, systems interleaved within each repeat) are the figures to read.")
    L.append("")
    L.append(f"Settings: {cfg['repeats']} repeats; concurrency 1: {cfg['c1_calls']} calls per repeat after 5 warm-ups; "
             f"concurrency {', '.join(map(str, cfg['conc']))}: that many `mcp.Client` sessions (handshake protocol), "
             f"each calling in a loop for {cfg['duration']:g} s; per-call timeout 30 s.")
    if "gradio" in S or "gradio_noqueue" in S:
        version = (S.get("gradio") or S["gradio_noqueue"]).get("version", "")
        L.append(f"Gradio {version} (own virtualenv; default queued mode, and `queue=False` where listed). "
                 "The bare SDK is stateless like Toolpress; \"stateful\" is the same server keeping a session per client.")
    L.append("")
    bare = S.get("bare")
    b50 = field(bare["c1"], "p50") if bare else None
    # latency
    L.append("### tools/call latency, concurrency 1 (ms, median [min–max] over repeats)")
    L.append("")
    L.append("| system | p50 | p95 | p99 | p50 / bare SDK p50 | errors |")
    L.append("|---|---|---|---|---|---|")
    for key in ORDER:
        if key in S:
            s = S[key]
            L.append(f"| {s['name']} | {fmt(field(s['c1'], 'p50'))} | {fmt(field(s['c1'], 'p95'))} | "
                     f"{fmt(field(s['c1'], 'p99'))} | {rtxt(ratio(field(s['c1'], 'p50'), b50))} | "
                     f"{sum(r['errors'] for r in s['c1'])} |")
    L.append("")
    L.append("![latency](img/bench_latency_c1.png)")
    L.append("")
    # throughput
    L.append("### Throughput under concurrent sessions (calls/s and p95 ms, median [min–max]; errors summed over repeats)")
    L.append("")
    head = "| system |" + "".join(f" calls/s @{c} | p95 ms @{c} | errors @{c} |" for c in cfg["conc"])
    L.append(head)
    L.append("|---|" + "---|---|---|" * len(cfg["conc"]))
    for key in ORDER:
        if key in S:
            s = S[key]
            row = f"| {s['name']} |"
            for c in cfg["conc"]:
                reps = s.get(f"c{c}", [])
                row += (f" {fmt(field(reps, 'throughput'))} | {fmt(field(reps, 'p95'))} | "
                        f"{sum(r['errors'] for r in reps) if reps else 'n/a'} |")
            L.append(row)
    L.append("")
    cmax = max(cfg["conc"])
    L.append(f"Ratios at {cmax} sessions (medians): " + "; ".join(
        f"{S[k]['name']} / bare SDK = {rtxt(ratio(field(S[k].get(f'c{cmax}', []), 'throughput'), field(bare.get(f'c{cmax}', []), 'throughput') if bare else None))}"
        for k in ORDER if k in S and k != "bare") + ".")
    L.append("")
    L.append(f"CPU time per call at {cmax} sessions (user + system CPU of every process of the system — API, "
             "sandbox processes, workers, and for the production stack its own Redis and its PostgreSQL backends — "
             "over the load window, divided by the calls completed; much less sensitive to other load on the "
             "machine than latency): " + "; ".join(
                 f"{S[k]['name']} {fmt(field(S[k].get(f'c{cmax}', []), 'cpu_ms_per_call'))} ms"
                 for k in ORDER if k in S and field(S[k].get(f"c{cmax}", []), "cpu_ms_per_call")) + ".")
    L.append("")
    L += cpu_parts_table(S, cmax)
    L.append("![throughput](img/bench_throughput.png)")
    L.append("")
    # progress
    P = results.get("progress", {})
    if P:
        L.append("### Progress delivery delay (3-step app, concurrency 1; ms)")
        L.append("")
        L.append("| system | method | p50 | p95 | samples |")
        L.append("|---|---|---|---|---|")
        for key, reps in P.items():
            name = S.get(key, {}).get("name", key)
            L.append(f"| {name} | client receipt − step `ended_at` in the run's trace | {fmt(field(reps, 'trace_p50'), 2)} | "
                     f"{fmt(field(reps, 'trace_p95'), 2)} | {sum(r['trace_n'] for r in reps)} |")
            if reps and "redis_p50" in reps[0]:
                L.append(f"| {name} | client receipt − event seen on Redis (PSUBSCRIBE observer) | "
                         f"{fmt(field(reps, 'redis_p50'), 2)} | {fmt(field(reps, 'redis_p95'), 2)} | "
                         f"{sum(r['redis_n'] for r in reps)} |")
        L.append("")
        L.append("Method: the backend cannot be instrumented, so the emit time is approximated. (a) The step's "
                 "`ended_at` in the run trace (read from the stack's database after the calls; wall clock, same "
                 "machine as the client) — the progress event is published right after the step ends, so this "
                 "slightly *over*states the delay (it includes the engine's bookkeeping between step end and publish). "
                 "(b) For Redis, an extra subscriber on `toolpress:run:*` timestamps each event as Redis fans it out; "
                 "client receipt minus that is the API-side relay (Redis → API process → SSE → client), "
                 "and understates the full delay by the worker→Redis publish (~one pub/sub hop, see references).")
        L.append("")
    # memory
    M = results.get("memory", {})
    if M:
        L.append("### Memory: API process RSS and PSS with in-flight slow calls")
        L.append("")
        L.append("| system | in-flight calls requested | streams open (HTTP 200 received) | RSS idle MB | RSS peak MB "
                 "| per open stream KB | PSS idle MB | PSS peak MB "
                 "| PostgreSQL transactions/s in the 3 s after all streams opened |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for key, r in M.items():
            xacts = f"{r['db_xacts_per_s']:.0f}" if "db_xacts_per_s" in r else "–"
            pss = f"{r['base_pss_mb']:.0f} | {r['peak_pss_mb']:.0f}" if "peak_pss_mb" in r else "– | –"
            L.append(f"| {S.get(key, {}).get('name', key)} | {r['n']} | {r['opened']} | {r['base_mb']:.0f} | "
                     f"{r['peak_mb']:.0f} | {r['per_stream_kb']:.0f} | {pss} | {xacts} |")
        L.append("")
        L.append("Raw Streamable HTTP `tools/call` POSTs (httpx, one connection each) to an app of 20 template loop "
                 "steps (no sleep step exists and `http_request` refuses loopback); RSS is the API process plus its "
                 "children (psutil), summed, which counts a page they share once per process: the embedded stack's "
                 "sandbox processes are forked from one fork server and share most of theirs. PSS divides each "
                 "shared page between the processes that map it, so the PSS sum is what the tree holds. The target is "
                 "judged on RSS, as before. Both sampled every 0.2–0.3 s until all streams were open and 3 s after; single run. "
                 "Most of the calls wait queued in the broker rather than inside a step, since only 4 worker slots "
                 "exist (embedded: 4 threads in the API process; Redis: 2 × 2 processes); for the API process holding "
                 "the streams the difference is the same waiting coroutine. The stack is torn down right after.")
        L.append("")
    # scale
    SC = results.get("scale", {})
    if SC:
        L.append("### Scale with data: lookup latency vs number of apps (ms)")
        L.append("")
        L.append("| system | apps | tools/list p50 | tools/list p95 | unknown secret → 404 p50 | 404 p95 |")
        L.append("|---|---|---|---|---|---|")
        for key, by in SC.items():
            for count, reps in by.items():
                L.append(f"| {S.get(key, {}).get('name', key)} | {int(count):,} | {fmt(field(reps, 'list_p50'), 2)} | "
                         f"{fmt(field(reps, 'list_p95'), 2)} | {fmt(field(reps, 'miss_p50'), 2)} | {fmt(field(reps, 'miss_p95'), 2)} |")
        L.append("")
        L.append("Filler apps (each with a published version and an enabled endpoint) are bulk-inserted with SQL into the "
                 "stack's own database (`app`, `appversion`, `mcpendpoint`), then `tools/list` on the echo app's URL "
                 "and POSTs to a random (unknown) secret are timed. The 404 path is the secret lookup alone.")
        L.append("")
        L.append("![scale](img/bench_scale.png)")
        L.append("")
    # references
    R = results.get("ref", {})
    L.append("### Reference lines")
    L.append("")
    L.append("| measure | value |")
    L.append("|---|---|")
    e = R.get("engine_us_per_step")
    L.append("| engine per-step overhead (bench/engine, 50-step template chain), µs | "
             + (f"{e['median']:.1f} [{e['min']:.1f}–{e['max']:.1f}]" if e else "n/a") + " |")
    L.append(f"| raw Celery round trip through Redis (noop task, Redis result backend, solo worker) p50 / p95 ms | "
             f"{R['celery_p50']:.2f} / {R['celery_p95']:.2f} |" if "celery_p50" in R else "| raw Celery round trip | n/a |")
    L.append(f"| Redis pub/sub hop p50 / p95 ms | {R['pubsub_p50']:.3f} / {R['pubsub_p95']:.3f} |"
             if "pubsub_p50" in R else "| Redis pub/sub hop | n/a |")
    L.append("")
    # targets
    L.append("### Targets (from issue 22; progress, memory and lookup kept from issue 10)")
    L.append("")
    L.append("| target | measured (medians, same run) | status |")
    L.append("|---|---|---|")

    def c_of(key: str, c: int, f: str) -> dict[str, float] | None:
        return field(S[key].get(f"c{c}", []), f) if key in S else None

    for key, most in (("embedded", 2.0), ("redis", 2.5)):
        if key not in S:
            continue
        r = ratio(field(S[key]["c1"], "p50"), b50)
        L.append(f"| {S[key]['name']}: p50 ≤ {most:g}× bare SDK | {rtxt(r)} | {verdict(None if r is None else r <= most)} |")
    for key in ("embedded", "redis"):
        if key not in S or 64 not in cfg["conc"]:
            continue
        cpu = ratio(c_of(key, 64, "cpu_ms_per_call"), c_of("bare", 64, "cpu_ms_per_call"))
        tb = ratio(c_of(key, 64, "throughput"), c_of("bare", 64, "throughput"))
        tg = ratio(c_of(key, 64, "throughput"), c_of("gradio_noqueue", 64, "throughput"))
        errs = sum(r["errors"] for r in S[key].get("c64", []))
        L.append(f"| {S[key]['name']}: CPU per call @64 ≤ 3× bare SDK | {rtxt(cpu)} | {verdict(None if cpu is None else cpu <= 3)} |")
        L.append(f"| {S[key]['name']}: throughput @64 ≥ 0.4× bare SDK | {rtxt(tb)} | {verdict(None if tb is None else tb >= 0.4)} |")
        L.append(f"| {S[key]['name']}: throughput @64 ≥ Gradio queue=False | {rtxt(tg)} | {verdict(None if tg is None else tg >= 1)} |")
        L.append(f"| {S[key]['name']}: zero errors @64 | {errs} errors | {verdict(errs == 0)} |")
    for key, limit in (("redis", 10.0), ("embedded", 20.0)):
        reps = P.get(key)
        v = field(reps, "trace_p95") if reps else None
        L.append(f"| progress p95 < {limit:g} ms, {S.get(key, {}).get('name', key)} | "
                 f"{fmt(v, 2) + ' ms' if v else 'n/a'} | {verdict(None if not v else v['med'] < limit)} |")
    for key, r in M.items():
        full = r["n"] >= 1000 and r["opened"] >= 1000
        ok = r["peak_mb"] < 300 if full else None
        pss = f" (PSS {r['peak_pss_mb']:.0f} MB)" if "peak_pss_mb" in r else ""
        L.append(f"| 1,000 in-flight calls < 300 MB RSS, {S.get(key, {}).get('name', key)} | {r['opened']} open: "
                 f"{r['peak_mb']:.0f} MB{pss} | {verdict(ok) if full else 'not measured at 1,000 (' + str(r['opened']) + ' open)'} |")
    for key, by in SC.items():
        lo, hi = by.get("10"), by.get("10000")
        a, b = (field(lo, "list_p50") if lo else None), (field(hi, "list_p50") if hi else None)
        x, y = (field(lo, "miss_p50") if lo else None), (field(hi, "miss_p50") if hi else None)
        rl, rm = ratio(b, a), ratio(y, x)
        ok = None if rl is None or rm is None else (rl <= 1.25 and rm <= 1.25)
        L.append(f"| flat lookup 10 → 10,000 apps (≤ 1.25× taken as flat), {S.get(key, {}).get('name', key)} | "
                 f"tools/list {rtxt(rl)}, 404 lookup {rtxt(rm)} | {verdict(ok)} |")
    L.append("")
    if results.get("failures"):
        L.append("Failures during the run (figures missing because of them):")
        L.append("")
        for k, v in results["failures"].items():
            L.append(f"- {k}: `{v[:300]}`")
        L.append("")
    return "\n".join(L)


def compare_summary(results: dict[str, Any]) -> str:
    """One Markdown row per system of a `--compare` run: the figures a before/after table quotes."""
    systems = results["systems"]
    bare = systems.get("bare", {})
    L = [f"compare run `{results['mode']}`, {results['started']} → {results.get('finished', '?')}, "
         f"load {results['machine']['load_before']} → {results['machine'].get('load_after')}",
         "",
         "| system | c1 p50 ms | c1 p50 / bare | calls/s @8 | calls/s @64 | @64 / bare | errors @64 | CPU ms/call @64 "
         "| RSS 1k in-flight MB |",
         "|---|---|---|---|---|---|---|---|---|"]
    for key in ORDER:
        s = systems.get(key)
        if not s:
            continue
        c1, t64 = field(s["c1"], "p50"), field(s.get("c64", []), "throughput")
        errors = sum(r.get("errors", 0) for r in s.get("c64", []))
        mem = results["memory"].get(key)
        mem_txt = f"{mem['peak_mb']:.0f} ({mem['opened']} open, idle {mem['base_mb']:.0f})" if mem else "–"
        L.append(f"| {s['name']} | {fmt(c1)} | {rtxt(ratio(c1, field(bare.get('c1', []), 'p50')))} | "
                 f"{fmt(field(s.get('c8', []), 'throughput'))} | {fmt(t64)} | "
                 f"{rtxt(ratio(t64, field(bare.get('c64', []), 'throughput')))} | {errors} | "
                 f"{fmt(field(s.get('c64', []), 'cpu_ms_per_call'))} | {mem_txt} |")
    if results.get("db_work"):
        work = results["db_work"]
        L.append("")
        L.append(f"PostgreSQL per echo call (Redis+PG): {work['commits_per_call']:.2f} commits, "
                 f"{work['rollbacks_per_call']:.2f} rollbacks (read-only sessions), {work['scans_per_call']:.2f} table scans")
    for k, v in results.get("failures", {}).items():
        L.append(f"- failure {k}: {v[:200]}")
    return "\n".join(L)


def write_report(results: dict[str, Any], out: Path, img: Path) -> None:
    plots(results, img)
    generated = f"{MARK}\n{body(results, img, out)}\n{MARK}"
    if out.exists() and out.read_text().count(MARK) == 2:
        before, _, rest = out.read_text().partition(MARK)
        _, _, after = rest.partition(MARK)
        text = before + generated + after
    else:
        text = ("# Benchmarks\n\nRerun everything with `.venv/bin/python bench/run.py` (about 8 minutes on 2 cores; `--quick` "
                "for a shorter run). It starts every system itself, side by side, and rewrites the section between the "
                "markers below plus the plots in `docs/img/`.\n\n" + generated + "\n")
    out.write_text(text)


if __name__ == "__main__":
    res = json.loads(Path(sys.argv[1]).read_text())
    root = Path(__file__).resolve().parents[1]
    write_report(res, Path(sys.argv[2]) if len(sys.argv) > 2 else root / "docs" / "benchmarks.md", root / "docs" / "img")
