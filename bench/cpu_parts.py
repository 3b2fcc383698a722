"""CPU time of a system under test, split by the part of the system that spent it.

Parts (a system has only the parts it runs; absent parts are left out, never reported as zero):

- `api`: the server process the client talks to (bare SDK, Gradio, `toolpress serve`) and its
  descendants that are not sandbox processes;
- `sandbox`: descendants started by `multiprocessing` (the fork server that runs Toolpress steps, the
  processes it forks, and multiprocessing's resource tracker), wherever they hang: under the API
  process (embedded mode) or under the workers (production);
- `worker`: `toolpress worker` processes and their non-sandbox descendants (Celery pool children);
- `broker`: the system's own `redis-server`;
- `database`: the PostgreSQL backends connected to the system's own database.

Process trees are summed with the CPU of their reaped children (psutil's `children_user` and
`children_system`), so a process that exits inside the window (a retired sandbox process, a Celery
pool child) still counts, in the part of the parent that reaped it. PostgreSQL backends are children of
the postmaster, which serves every database, so they are sampled one by one instead: see `backends_cpu`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import psutil
from systems import System, Toolpress

PARTS = ("api", "sandbox", "worker", "broker", "database")  # the order tables list them in
SANDBOX = "sandbox"
DATABASE = "database"


@dataclass(frozen=True)
class CpuSample:
    """Cumulative CPU seconds at one instant: per process-tree part, and per PostgreSQL backend.

    `backends` is None for a system without a PostgreSQL database of its own (no database part).
    """

    trees: dict[str, float]
    backends: dict[tuple[int, float], float] | None


def own_cpu(proc: psutil.Process) -> float:
    """User + system CPU seconds of a process and of the children it has reaped."""
    times = proc.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def is_sandbox(proc: psutil.Process) -> bool:
    """Whether a descendant was started by multiprocessing (fork server, its children, resource tracker)."""
    return any("multiprocessing" in arg for arg in proc.cmdline())


def add_tree(totals: dict[str, float], proc: psutil.Process, part: str) -> None:
    """Add the CPU of `proc` and its descendants to `part`, moving sandbox subtrees to the sandbox part."""
    with contextlib.suppress(psutil.Error):
        totals[part] = totals.get(part, 0.0) + own_cpu(proc)
        for child in proc.children():
            add_tree(totals, child, SANDBOX if part == SANDBOX or is_sandbox(child) else part)


def trees_cpu(sut: System) -> dict[str, float]:
    """Cumulative CPU seconds of every process the system started, by part (`System.parts`)."""
    totals: dict[str, float] = {}
    for proc in sut.procs:
        with contextlib.suppress(psutil.Error):
            add_tree(totals, psutil.Process(proc.pid), sut.parts[proc.pid])
    return totals


def backend_pids(db_url: str) -> list[int]:
    """PIDs of the PostgreSQL backends connected to the database of `db_url`, except this query's own."""
    import psycopg

    dsn = db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid()").fetchall()
    return [row[0] for row in rows]


def backends_cpu(db_url: str) -> dict[tuple[int, float], float]:
    """CPU seconds of each backend of the database, keyed by (pid, start time) so a reused pid is a new key.

    Limitation: only backends alive at a sample are seen. One that connects inside the window counts from
    zero; one that exits inside it counts nothing for the window (its CPU after the first sample is lost).
    """
    out: dict[tuple[int, float], float] = {}
    for pid in backend_pids(db_url):
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            out[(pid, proc.create_time())] = own_cpu(proc)
    return out


def sample_cpu(sut: System) -> CpuSample:
    """Sample the CPU of every part of the system now."""
    backends = backends_cpu(sut.db_url) if isinstance(sut, Toolpress) and sut.production else None
    return CpuSample(trees=trees_cpu(sut), backends=backends)


def cpu_by_part(start: CpuSample, end: CpuSample) -> dict[str, float]:
    """CPU seconds each part spent between two samples of the same system (parts of the end sample)."""
    out = {part: total - start.trees.get(part, 0.0) for part, total in end.trees.items()}
    if start.backends is not None and end.backends is not None:
        out[DATABASE] = sum(cpu - start.backends.get(key, 0.0) for key, cpu in end.backends.items())
    return out
