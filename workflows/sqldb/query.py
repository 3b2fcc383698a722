"""Running one parameterized statement: read-only transactions, a statement timeout, row and byte limits.

The statement is SQLAlchemy ``text()`` with ``:name`` placeholders; values are always sent as bound
parameters, never spliced into the SQL. Read-only is enforced by the database, not by looking at the SQL:
PostgreSQL and MySQL run the statement in a ``READ ONLY`` transaction, SQLite opens the file read-only and
sets ``query_only``. The timeout is the database's own where it has one (PostgreSQL ``statement_timeout``,
MySQL ``max_execution_time`` for reads) and SQLite's progress handler, which also stops a statement when
the run is cancelled. Rows are read one by one and stop at ``max_rows`` or ``max_bytes`` of JSON, with
``truncated`` set; every value is mapped to JSON (numbers, text, ISO dates, base64 bytes).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from workflows.errors import NodeFailure

__all__ = ["QueryLimits", "bind_names", "run_statement", "to_json"]

_WATCH_INTERVAL = 0.05


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """How much one statement may take and return."""

    timeout: float
    max_rows: int
    max_bytes: int


def bind_names(statement: str) -> set[str]:
    """The ``:name`` placeholders of a statement (as SQLAlchemy parses them)."""
    return set(text(statement).compile().params)


def to_json(value: Any) -> Any:
    """A column value as JSON: numbers, text, ISO 8601 dates and times, base64 bytes, JSON as is."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_json(v) for v in value]
    return str(value)


def _prepare(conn: Connection, dialect: str, *, read_only: bool, limits: QueryLimits,
             stop: Callable[[], bool]) -> None:
    ms = max(1, int(limits.timeout * 1000))
    if dialect == "postgresql":
        if read_only:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
    elif dialect == "mysql":  # neither statement starts the transaction; the next one does, read-only
        if read_only:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.exec_driver_sql(f"SET SESSION max_execution_time = {ms}")
    elif dialect == "sqlite":
        raw = conn.connection.driver_connection
        deadline = time.monotonic() + limits.timeout
        raw.set_progress_handler(lambda: int(stop() or time.monotonic() > deadline), 10_000)
        if read_only:
            conn.exec_driver_sql("PRAGMA query_only = ON")


@contextlib.contextmanager
def _cancel_on_stop(conn: Connection, dialect: str, stop: Callable[[], bool]) -> Iterator[None]:
    """PostgreSQL: a watcher sends the server a cancel request as soon as ``stop()`` is true."""
    if dialect != "postgresql":
        yield  # SQLite's progress handler polls stop(); MySQL relies on max_execution_time
        return
    raw = conn.connection.driver_connection
    done = threading.Event()

    def watch() -> None:
        while not done.wait(_WATCH_INTERVAL):
            if stop():
                raw.cancel()
                return

    watcher = threading.Thread(target=watch, name="toolpress-sql-cancel", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def _describe(exc: SQLAlchemyError, limits: QueryLimits) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    detail = str(orig if orig is not None else exc).strip().splitlines()
    first = detail[0] if detail else type(exc).__name__
    lowered = first.lower()
    if "canceling statement due to user request" in lowered:
        return "the statement was stopped: the run was cancelled"
    if "statement timeout" in lowered or "interrupted" in lowered or "maximum statement execution time" in lowered:
        return f"the statement took longer than its {limits.timeout:g} s timeout and was stopped"
    if "read-only" in lowered or "read only" in lowered or "readonly" in lowered:
        return f"refused: the step is read_only, and the statement tried to write ({first})"
    return f"{type(orig).__name__ if orig is not None else type(exc).__name__}: {first}"


def run_statement(engine: Engine, statement: str, params: Mapping[str, Any], *, read_only: bool,
                  limits: QueryLimits, stop: Callable[[], bool] = lambda: False) -> dict[str, Any]:
    """Run the statement in one transaction (rolled back when read-only); return rows or the affected count."""
    dialect = engine.dialect.name
    try:
        with engine.connect() as conn, _cancel_on_stop(conn, dialect, stop):
            with conn.begin() as transaction:
                _prepare(conn, dialect, read_only=read_only, limits=limits, stop=stop)
                result = conn.execute(text(statement), dict(params))
                if not result.returns_rows:
                    count = result.rowcount
                    if read_only:
                        transaction.rollback()
                    return {"rows": [], "columns": [], "row_count": count, "truncated": False}
                columns = list(result.keys())
                rows: list[dict[str, Any]] = []
                size, truncated = 2, False
                for row in result:
                    if len(rows) >= limits.max_rows:
                        truncated = True
                        break
                    item = {name: to_json(value) for name, value in zip(columns, row, strict=True)}
                    size += len(json.dumps(item, ensure_ascii=False, default=str)) + 1
                    if size > limits.max_bytes:
                        truncated = True
                        break
                    rows.append(item)
                result.close()
                if read_only:
                    transaction.rollback()
                return {"rows": rows, "columns": columns, "row_count": len(rows), "truncated": truncated}
    except SQLAlchemyError as exc:
        if stop():
            raise NodeFailure("the statement was stopped: the run was cancelled") from None
        raise NodeFailure(_describe(exc, limits)) from None
    finally:
        engine.dispose()
