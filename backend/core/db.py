"""Database engine and sessions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

# How long a new PostgreSQL connection and a wait for a pooled one may take before a request fails
# (with DATABASE_UNAVAILABLE) instead of hanging while the database is down or restarting.
CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10

DATABASE_UNAVAILABLE = "the database is unavailable; nothing was changed, try again shortly"

# What a lost, restarting or unreachable database raises (psycopg's OperationalError arrives wrapped
# in SQLAlchemy's; a pool that cannot hand out a connection in time raises TimeoutError).
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)


_ENGINES: dict[str, Engine] = {}  # what get_engine made, for the at-fork clean-up below


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL per process; SQLite gets WAL and a busy timeout for the worker threads.

    PostgreSQL connections are checked with a ping when taken from the pool (`pool_pre_ping`): after
    a database restart the first ping fails, SQLAlchemy discards every pooled connection made before
    it and opens fresh ones, so requests succeed as soon as the database is back, with no restart.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL syncs at checkpoints, not on every commit: a commit stays atomic and the
            # database consistent; only the last commits before a power cut (not a process crash) can be lost.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        _ENGINES[url] = engine
        return engine
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if url.startswith("postgresql") else {}
    engine = _ENGINES[url] = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args=connect_args,
    )
    return engine


def _forget_inherited_connections() -> None:
    """In a forked child (a prefork worker process), drop the parent's pooled connections without closing them.

    Their sockets belong to the parent; a child that used one would interleave its queries with the parent's.
    """
    for url in list(_ENGINES):
        _ENGINES[url].dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that is closed afterwards; callers (crud/services) commit."""
    with Session(get_engine(url), expire_on_commit=False) as session:
        yield session
