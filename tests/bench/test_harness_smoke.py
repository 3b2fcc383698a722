"""Smoke test of the benchmark harness: it runs end to end and writes a results table.

It checks that the harness works, never how fast anything is (benchmarks are not pass/fail tests).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_harness_smoke(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    img = tmp_path / "img"
    raw = tmp_path / "raw.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--smoke", "--out", str(out), "--img", str(img),
         "--raw", str(raw)],
        cwd=REPO, capture_output=True, text=True, timeout=540,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = out.read_text()
    assert text.count("<!-- bench:results -->") == 2
    assert "| system | p50 | p95 | p99 |" in text
    assert "| bare SDK |" in text and "| Toolpress embedded |" in text
    assert "CPU time per call at 8 sessions" in text and "Toolpress embedded " in text.split("CPU time per call")[1]
    assert (img / "bench_latency_c1.png").stat().st_size > 0
    assert "### CPU per call by process at 8 sessions" in text
    assert "| system | api | sandbox | total |" in text
    results = json.loads(raw.read_text())
    check_cpu_parts(results)
    check_memory(results)


def check_memory(results: dict[str, Any]) -> None:
    """The embedded stack's memory figure has its PSS beside its RSS: the tree's sandbox processes share pages,
    which RSS counts once per process and PSS divides, so the PSS sum is the smaller."""
    memory = results["memory"]["embedded"]
    assert memory["opened"] == memory["n"], memory
    assert 0 < memory["base_pss_mb"] < memory["base_mb"], memory
    assert 0 < memory["peak_pss_mb"] < memory["peak_mb"], memory


def check_cpu_parts(results: dict[str, Any]) -> None:
    """Each load repeat splits its CPU per call into parts that add up to the total.

    Bare SDK: the API part only. Toolpress embedded: API and sandbox, no broker or database process.
    """
    for key, expected in (("bare", {"api"}), ("embedded", {"api", "sandbox"})):
        reps = results["systems"][key]["c8"]
        assert reps, f"{key}: no load repeat recorded"
        for rep in reps:
            parts = rep["cpu_parts_ms_per_call"]
            assert set(parts) == expected, (key, parts)
            assert all(ms >= 0 for ms in parts.values()), (key, parts)
            assert math.isclose(rep["cpu_ms_per_call"], sum(parts.values()), rel_tol=1e-9, abs_tol=1e-9), (key, rep)


@pytest.mark.timeout(300)
def test_ab_harness_smoke() -> None:
    """bench/ab.py runs two trees (here the same one twice) interleaved and prints both medians."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "ab.py"), str(REPO), str(REPO), "--repeats", "1", "--calls", "3",
         "--seconds", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=280,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    medians = [line for line in proc.stdout.splitlines() if line.startswith("median ")]
    assert [line.split()[1] for line in medians] == ["A", "B"]
    assert all(line.endswith("errors 0") for line in medians), medians


@pytest.mark.timeout(300)
def test_heap_harness_smoke() -> None:
    """bench/heap.py serves waiting calls under tracemalloc and prints where their memory is held."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "heap.py"), "--calls", "20", "--hold", "3"],
        cwd=REPO, capture_output=True, text=True, timeout=280,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Python allocations held after 20 calls opened" in proc.stdout
    assert "| file | KB per call |" in proc.stdout


@pytest.mark.timeout(300)
def test_stages_smoke() -> None:
    """bench/stages.py splits calls into stages from the runs it reads back: every call found, every stage in order."""
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "stages.py"), "--calls", "20"],
                          cwd=REPO, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Toolpress embedded: stages of a call at one session (20 calls; ms)" in proc.stdout
    rows = [line.split("|")[1:-1] for line in proc.stdout.splitlines() if line.startswith("| ") and "stage" not in line]
    assert [row[0].strip() for row in rows] == [
        "request → run built", "run built → claimed", "claimed → ended", "ended → result", "whole call"]
    for _, p50, p95 in rows:  # the client's and the processes' clocks are one machine's: no stage runs backwards
        assert 0 <= float(p50) <= float(p95), rows


@pytest.mark.timeout(300)
def test_instructions_smoke() -> None:
    """bench/instructions.py counts the API process's instructions under callgrind: a count per call, and the
    ratio of the second tree (here the same one) to the first."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "instructions.py"), str(REPO), str(REPO), "--calls", "3"],
        cwd=REPO, capture_output=True, text=True, timeout=280,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    counts = [line for line in proc.stdout.splitlines() if "M instructions per call in the API process" in line]
    assert len(counts) == 2, proc.stdout
    millions = [float(line.split(": ")[1].split()[0]) for line in counts]
    assert all(m > 0.5 for m in millions), counts  # a call through the SDK, the run and the worker: millions
    assert counts[1].endswith("× the first)"), counts
