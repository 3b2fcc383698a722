"""Opening a database for an ``sql`` step: allowed URL schemes, drivers, and the same network policy as HTTP.

A server's host is resolved and checked like an HTTP target (``workflows.http.check_target``: private,
loopback, link-local and metadata addresses refused unless the run's allow-list names ``host`` or
``host:port``), and the connection goes to the checked address, so a DNS answer cannot change between the
check and the connect. A SQLite file is a file on the worker: it is opened only inside a directory the
allow-list names as ``sqlite:/that/directory`` (an in-memory SQLite database needs nothing).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from workflows.errors import NodeFailure
from workflows.http import TargetRefused, check_target

__all__ = ["DRIVERS", "open_engine"]

# URL scheme → SQLAlchemy dialect+driver. PostgreSQL's driver is in the base install; MySQL's is the
# `mysql` extra (`pip install 'toolpress[mysql]'`).
DRIVERS = {
    "postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg", "postgresql+psycopg": "postgresql+psycopg",
    "mysql": "mysql+pymysql", "mariadb": "mysql+pymysql", "mysql+pymysql": "mysql+pymysql",
    "sqlite": "sqlite", "sqlite+pysqlite": "sqlite",
}
_DEFAULT_PORTS = {"postgresql+psycopg": 5432, "mysql+pymysql": 3306}


def _parse(text: str) -> URL:
    try:
        url = make_url(text.strip())
    except ArgumentError:
        raise NodeFailure("the connection is not a database URL (e.g. postgresql://user:pass@host/db)") from None
    driver = DRIVERS.get(url.drivername)
    if driver is None:
        raise NodeFailure(f"unsupported database '{url.drivername}'; use one of postgresql, mysql, sqlite")
    return url.set(drivername=driver)


def _sqlite_allowed(path: str, allow: Sequence[str]) -> bool:
    real = os.path.realpath(path)
    for entry in allow:
        if entry.startswith("sqlite:"):
            folder = os.path.realpath(entry[len("sqlite:"):])
            if os.path.commonpath([real, folder]) == folder:
                return True
    return False


def open_engine(text: str, *, allow: Sequence[str], connect_timeout: float, read_only: bool) -> Engine:
    """An engine (no pool: one connection for this step) for the URL, after the network policy's check."""
    url = _parse(text)
    connect_args: dict[str, Any] = {}
    if url.drivername == "sqlite":
        path = url.database or ""
        if path not in ("", ":memory:"):
            if not _sqlite_allowed(path, allow):
                raise TargetRefused("refusing to open a SQLite file outside the directories the operator allowed "
                                    "(allow-list entry 'sqlite:/directory')")
            if not os.path.isfile(path):
                raise NodeFailure("the SQLite database file does not exist")
            mode = "ro" if read_only else "rw"
            url = url.set(database=f"file:{os.path.realpath(path)}?mode={mode}", query={"uri": "true"})
        connect_args["timeout"] = connect_timeout
        return create_engine(url, poolclass=NullPool, connect_args=connect_args)
    if not url.host:
        raise NodeFailure("the database URL has no host")
    port = url.port or _DEFAULT_PORTS[url.drivername]
    host = f"[{url.host}]" if ":" in url.host else url.host
    address = check_target(httpx.URL(f"http://{host}:{port}/"), allow)
    if url.drivername == "postgresql+psycopg":
        connect_args["connect_timeout"] = max(1, round(connect_timeout))
        if address is not None:
            connect_args["hostaddr"] = address  # connect to the checked address; the host name stays for TLS
    else:
        connect_args["connect_timeout"] = connect_timeout
        if address is not None:
            url = url.set(host=address)
    try:
        return create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except ModuleNotFoundError as exc:
        raise NodeFailure(f"the driver for {url.drivername} is not installed on this server ({exc.name}); "
                          "install toolpress with the matching extra, e.g. 'toolpress[mysql]'") from None
