"""backend.core.db against the real PostgreSQL: the pool's checkout check works in a process with many files open."""

from __future__ import annotations

import os
import resource

from sqlalchemy import text

from backend.core.db import get_engine, session_scope
from support.stack import POSTGRES_ADMIN_URL


def test_connections_with_descriptors_numbered_past_1024_are_checked_out_and_reused() -> None:
    """An API process holding a thousand open streams gives its database connections descriptors past 1024,
    which select() cannot watch; every checkout must still succeed (it once failed with "This connection is
    closed" after three refused attempts)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    url = POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://") + "?application_name=toolpress-fd-test"
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]  # as a thousand client sockets would
    engine = get_engine(url)
    try:
        for _ in range(3):  # a fresh connection, then the pooled one again
            with session_scope(url) as session:
                assert session.exec(text("SELECT 1")).one()[0] == 1  # type: ignore[call-overload]
        with engine.connect() as connection:
            assert connection.connection.dbapi_connection.fileno() >= 1024  # type: ignore[union-attr]
    finally:
        engine.dispose()
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
