"""Database engine and sessions."""

from __future__ import annotations

import logging
import os
import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, ExceptionContext
from sqlmodel import Session, create_engine

# How long a new PostgreSQL connection and a wait for a pooled one may take before a request fails
# (with DATABASE_UNAVAILABLE) instead of hanging while the database is down or restarting.
CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10
# Pooled connections are replaced after this long, so none outlives a server-side idle limit or a failover.
POOL_RECYCLE_SECONDS = 1800

DATABASE_UNAVAILABLE = "the database is unavailable; nothing was changed, try again shortly"

# What a lost, restarting or unreachable database raises (psycopg's OperationalError arrives wrapped
# in SQLAlchemy's; a pool that cannot hand out a connection in time raises TimeoutError).
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)


logger = logging.getLogger(__name__)

T = TypeVar("T")

_ENGINES: list[Engine] = []  # what get_engine and get_autocommit_engine made, for the at-fork clean-up below


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL per process; SQLite gets WAL and a busy timeout for the worker threads.

    PostgreSQL connections are checked when taken from the pool without a round trip (`_drop_if_closed`):
    after a database restart every pooled connection's socket has been closed by the server (or the
    network), the check sees it and the pool opens a fresh connection instead, so requests succeed as
    soon as the database is back, with no restart. A connection that dies silently while in use (no
    close ever reaches us) fails its statement with DATABASE_UNAVAILABLE, and SQLAlchemy then drops
    every connection of the pool made before it; `pool_recycle` bounds how long one is kept.
    """
    return _create_engine(url)


@lru_cache(maxsize=8)
def get_autocommit_engine(url: str) -> Engine:
    """A second pool of the URL whose connections are always in autocommit (backend.core.statements runs on it):
    nothing to switch on checkout and back on return, and no ROLLBACK on return."""
    return _create_engine(url, isolation_level="AUTOCOMMIT")


def sqlite_engine(url: str, busy_timeout_ms: int = 30_000, **options: Any) -> Engine:
    """An engine of a SQLite URL with WAL, and a statement that finds the file locked retrying for `busy_timeout_ms`."""
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000}, **options)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL syncs at checkpoints, not on every commit: a commit stays atomic and the
        # database consistent; only the last commits before a power cut (not a process crash) can be lost.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    _ENGINES.append(engine)
    return engine


def _create_engine(url: str, **options: str) -> Engine:
    if url.startswith("sqlite"):
        return sqlite_engine(url, **options)
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if url.startswith("postgresql") else {}
    engine = create_engine(
        url,
        pool_recycle=POOL_RECYCLE_SECONDS,
        pool_size=10,
        max_overflow=20,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args=connect_args,
        **options,
    )
    event.listen(engine, "checkout", _drop_if_closed)
    event.listen(engine, "handle_error", lambda context: _after_error(url, context))
    _ENGINES.append(engine)
    return engine


def _after_error(url: str, context: ExceptionContext) -> None:
    if context.is_disconnect:  # SQLAlchemy drops the connections of the pool it found one dead in; the other pool too
        drop_pooled_connections(url)


def drop_pooled_connections(url: str) -> None:
    """A connection was found dead: the database restarted or the network was cut, so every idle pooled
    connection to it is suspect. Both pools of the URL close theirs and open fresh ones as they are needed."""
    for engine in (get_engine(url), get_autocommit_engine(url)):
        engine.pool.dispose()


def _drop_if_closed(dbapi_conn, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
    """Refuse a pooled connection whose socket has something to read: the server closed it (a restart,
    ``pg_terminate_backend``, a cut network) or sent a message while it idled. The pool then opens a fresh
    one (`DisconnectionError` on checkout), so no request ever starts on a dead connection.

    This replaces `pool_pre_ping`, which asked the server on every checkout: a round trip each time, for
    something the socket already tells. An idle connection in the pool has nothing to read unless its
    server spoke, and polling the socket costs no round trip.
    """
    if dbapi_conn.closed:
        raise exc.DisconnectionError("the pooled connection was closed")
    # poll, not select: select() cannot watch a descriptor numbered 1024 or more, and a server holding a
    # thousand open streams has such descriptors
    poller = select.poll()
    try:
        poller.register(dbapi_conn.fileno(), select.POLLIN)
        events = poller.poll(0)
    except (OSError, ValueError):
        raise exc.DisconnectionError("the pooled connection's socket is gone") from None
    if events:  # readable, hung up or in error
        raise exc.DisconnectionError("the server closed the pooled connection (or spoke while it idled)")


def retry_on_disconnect(work: Callable[[], T]) -> T:
    """Run `work` once more when its pooled connection turns out to be dead on first use.

    The checkout check (`_drop_if_closed`) cannot see a connection that died without its close reaching us
    yet (a restart racing the request, a cut network): the first statement then fails as a disconnect, and
    SQLAlchemy invalidates every connection of the pool made before it. A second attempt gets a fresh one.
    Only for work that is safe to repeat: reads, or a transaction that commits at its end (a failure before
    the commit changed nothing). A database that is really away fails the second attempt too, as it should.
    """
    try:
        return work()
    except exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
        logger.info("a pooled database connection was dead on first use; trying once more on a fresh one")
        return work()


def _forget_inherited_connections() -> None:
    """In a forked child (a prefork worker process), drop the parent's pooled connections without closing them.

    Their sockets belong to the parent; a child that used one would interleave its queries with the parent's.
    """
    for engine in list(_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that is closed afterwards; callers (crud/services) commit."""
    with Session(get_engine(url), expire_on_commit=False) as session:
        yield session


@contextmanager
def read_scope(url: str) -> Iterator[Session]:
    """A session for reads only, in autocommit: no BEGIN before its first query and no ROLLBACK after.

    Each query sees the latest committed data on its own (no snapshot across queries), which is what a lookup
    such as "which app does this URL serve" wants; two round trips fewer than `session_scope`. Never write in it.
    """
    with Session(get_autocommit_engine(url), expire_on_commit=False) as session:
        yield session
