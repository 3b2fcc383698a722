"""Short database reads on the event loop itself when the database is a local SQLite file; on a thread otherwise.

A read handed to a worker thread costs a hop there and back: about 100 µs of CPU in anyio's machinery, and two
threads woken that then contend with the event loop for the GIL. An indexed SQLite read costs tens of µs. In
WAL mode (which every connection of ours sets) a reader never waits for a writer, so `read` runs it inline,
on a connection of the loop's own thread: one per thread, so the loop never waits for a pooled connection
that a thread holds. Should the file be locked all the same (another process holding it in exclusive mode, the
recovery after a crash), the inline read gives up at once (no busy wait on the loop) and the read goes to a
thread, which waits as long as any read may. A database across a network (PostgreSQL) is always read on a
thread, since a round trip there would stop the loop.

Only for reads: work that is safe to run twice (an inline attempt that met a lock is made again on a thread),
and short (it holds the event loop while it runs).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

import anyio
from sqlalchemy import exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import SingletonThreadPool

from backend.core.db import retry_on_disconnect, sqlite_engine
from backend.core.statements import Statements, statement_scope

logger = logging.getLogger(__name__)

T = TypeVar("T")

# How long an inline read waits for a locked SQLite file before it goes to a thread instead: not at all.
LOOP_BUSY_MS = 0
# Threads that keep a connection for inline reads (event loops: one per process, a few in tests).
LOOP_THREADS = 32


def read_on_thread(url: str, work: Callable[[Statements], T]) -> T:
    """Run a read in its own statements (a pooled connection in autocommit), once more if that connection was dead."""

    def attempt() -> T:
        with statement_scope(url) as db:
            return work(db)

    return retry_on_disconnect(attempt)


async def read(url: str, work: Callable[[Statements], T]) -> T:
    """Run a short read from the event loop: inline for a local SQLite file, else (or when it is locked) on a thread."""
    try:
        engine = _loop_engine(url)
        if engine is not None:
            with statement_scope(url, engine) as db:
                return work(db)
    except (exc.OperationalError, sqlite3.OperationalError) as error:  # raw when a new connection met the lock
        if not _locked(error):
            raise
        logger.info("the database file is locked; this read waits for it on a thread instead of the event loop")
    return await anyio.to_thread.run_sync(read_on_thread, url, work)


def _locked(error: Exception) -> bool:
    cause = error.orig if isinstance(error, exc.DBAPIError) else error
    return isinstance(cause, sqlite3.OperationalError) and "locked" in str(cause)


def _loop_engine(url: str) -> Engine | None:
    """The engine for inline reads of `url` (autocommit, one connection per thread, no busy wait), or None when its
    reads go to a thread: not a SQLite file, or a file not in WAL mode (there a reader can wait for a writer)."""
    engine = _file_engine(url)
    return engine if engine is not None and _in_wal(engine) else None


@lru_cache(maxsize=8)
def _file_engine(url: str) -> Engine | None:
    """Built once per URL; None unless it names a SQLite file (in memory, every connection would see its own)."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database or ""
    if database in ("", ":memory:") or "mode=memory" in url:
        return None
    return sqlite_engine(url, busy_timeout_ms=LOOP_BUSY_MS, isolation_level="AUTOCOMMIT",
                         poolclass=SingletonThreadPool, pool_size=LOOP_THREADS)


@lru_cache(maxsize=8)
def _in_wal(engine: Engine) -> bool:
    """Whether the file is in WAL mode, asked once. A file locked now raises, and nothing is cached: that read goes
    to a thread, and the next one asks again."""
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    if str(mode).lower() == "wal":
        return True
    logger.info("the SQLite database is not in WAL mode (%s); its reads run on threads", mode)
    engine.dispose()
    return False
