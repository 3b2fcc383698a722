"""Which workers are alive: who a worker is, its heartbeat, and the rule that says it is gone.

Every worker process (a `toolpress worker`, or the embedded worker of a `toolpress serve`) writes a row
with its name every `worker_heartbeat_seconds` and deletes it when it stops. A worker is alive while its
row is younger than HEARTBEAT_MISSED intervals; on the same machine the row also names a process that
must still exist (same pid, same start time), so a worker killed a moment ago is known to be gone at once.
The database holds this, so every API process and every worker sees the same answer, in every mode.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from backend import crud
from backend.core.db import read_scope, session_scope
from backend.core.settings import Settings
from backend.models import Worker, as_utc, utcnow

logger = logging.getLogger(__name__)

HEARTBEAT_MISSED = 3  # a worker silent for this many heartbeat intervals is gone
ALIVE_CACHE_SECONDS = 1.0  # how long one process trusts its last answer to "is any worker alive?"


@lru_cache(maxsize=1)
def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:64]
    except OSError:
        return ""


def _process_started(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot), or None if it has exited (a zombie included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    if fields[0] in (b"Z", b"X"):  # exited, not yet reaped by its parent
        return None
    return int(fields[19])


@dataclass(frozen=True)
class WorkerIdentity:
    """Who this worker process is, as its heartbeat row says."""

    name: str
    kind: str
    concurrency: int
    host: str
    boot_id: str
    pid: int
    process_started: int

    @classmethod
    def of_this_process(cls, kind: str, concurrency: int, name: str | None = None) -> WorkerIdentity:
        """This process as a worker of `kind` (celery or embedded); the name defaults to `<prefix>-<pid>@<host>`
        (several workers on one host stay distinct) and may contain `%h` for the host name."""
        host, pid = socket.gethostname(), os.getpid()
        default = f"{'embedded' if kind == 'embedded' else 'toolpress'}-{pid}@{host}"
        name = name.replace("%h", host) if name else default  # %h: the host name, as Celery's -n spells it
        return cls(name=name[:255], kind=kind, concurrency=concurrency, host=host[:255], boot_id=_boot_id(),
                   pid=pid, process_started=_process_started(pid) or 0)

    def row(self) -> Worker:
        """A fresh heartbeat row."""
        return Worker(name=self.name, kind=self.kind, host=self.host, boot_id=self.boot_id, pid=self.pid,
                      process_started=self.process_started, concurrency=self.concurrency)


def record_heartbeat(settings: Settings, identity: WorkerIdentity) -> None:
    """Say this worker is alive now."""
    with session_scope(settings.sqlalchemy_url) as session:
        crud.save_worker_heartbeat(session=session, worker=identity.row())


def remove_worker(settings: Settings, identity: WorkerIdentity) -> None:
    """Say this worker has stopped."""
    with session_scope(settings.sqlalchemy_url) as session:
        crud.delete_workers(session=session, names=[identity.name])


def is_alive(worker: Worker, settings: Settings, now: datetime | None = None) -> bool:
    """A worker is alive while its heartbeat is recent and, on this machine, its process still exists."""
    if worker.host == socket.gethostname() and worker.boot_id == _boot_id():
        if _process_started(worker.pid) != worker.process_started:
            return False
    stale_after = timedelta(seconds=settings.worker_heartbeat_seconds * HEARTBEAT_MISSED)
    last_seen = as_utc(worker.last_seen)
    return last_seen is not None and last_seen > (now or utcnow()) - stale_after


def live_workers(settings: Settings) -> tuple[list[Worker], list[Worker]]:
    """(alive, gone) among the workers that have a row (a read in autocommit: no ROLLBACK after it, which would
    also drop the prepared statements of its pooled connection)."""
    with read_scope(settings.sqlalchemy_url) as session:
        rows = crud.list_workers(session=session)
    now = utcnow()
    alive: list[Worker] = []
    gone: list[Worker] = []
    for row in rows:
        (alive if is_alive(row, settings, now) else gone).append(row)
    return alive, gone


class _AliveCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checked_at = -1e9
        self.alive = True


_alive_cache = _AliveCache()


def any_worker_alive(settings: Settings) -> bool:
    """Whether some worker can take a run (asked of the database at most once a second per process).

    A failed check answers True: a call is refused only when the workers are known to be gone, never
    because the question could not be asked (the database being down has its own error).
    """
    with _alive_cache.lock:
        if time.monotonic() - _alive_cache.checked_at < ALIVE_CACHE_SECONDS:
            return _alive_cache.alive
    try:
        alive = bool(live_workers(settings)[0])
    except Exception as exc:  # noqa: BLE001 - see above
        logger.warning("could not tell whether a worker is alive (%s)", type(exc).__name__)
        alive = True
    with _alive_cache.lock:
        _alive_cache.alive, _alive_cache.checked_at = alive, time.monotonic()
    return alive


class _ThisProcess:
    """The worker this process runs, if any, and whether it is the only consumer of an in-memory queue."""

    worker: str | None = None
    holds_queue = False


def set_this_worker(name: str | None, *, holds_queue: bool = False) -> None:
    """Record (or clear) the name of the worker this process runs; `holds_queue` in embedded mode."""
    _ThisProcess.worker, _ThisProcess.holds_queue = name, holds_queue and name is not None


def this_worker() -> str | None:
    """The name of the worker this process runs (recorded on each run it starts), or None."""
    return _ThisProcess.worker


def local_queue_owner() -> str | None:
    """The worker that will run what this process queues in memory (embedded mode), else None."""
    return _ThisProcess.worker if _ThisProcess.holds_queue else None
