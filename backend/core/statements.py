"""Statements on the hot path of a call, run on a pooled DBAPI connection in autocommit.

A call writes its run with one INSERT, and a worker reads it, claims it and ends it with one statement each.
Through SQLAlchemy each of those costs about 150 µs of Python above what the driver itself spends (a session,
a connection wrapper, an execution context, result wrapping); here a Core statement is compiled once per
dialect and then only has its values processed (by the column types' own bind processors, so what is stored
is what the ORM would store) and its rows' values processed on the way out. psycopg prepares a statement
on the server once it has run a few times on a connection, so the SQL text is the same for every call.

Every statement is a transaction of its own (the connections of this pool are always in autocommit): for
writes that stand alone. Errors are SQLAlchemy's (`OperationalError`…, parameters hidden), so callers treat
them as any other database error; a statement that finds its connection dead invalidates it and raises with
`connection_invalidated` set, as SQLAlchemy does, for `retry_on_disconnect`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc, null
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import Compiled
from sqlmodel import Session

from backend.core.db import drop_pooled_connections, get_autocommit_engine

_SQL_NULL = type(null())  # a value given as null(): SQL NULL, whatever its column's type would make of None


@dataclass(frozen=True)
class _Prepared:
    """A statement compiled for one dialect: its SQL, how to build its parameters, how to read its rows."""

    sql: str
    compiled: Compiled
    order: tuple[str, ...] | None  # the parameter names in order, for a positional paramstyle
    binds: dict[str, Callable[[Any], Any]]  # parameter name -> bind processor (only those that have one)
    results: tuple[Callable[[Any], Any] | None, ...]  # per result column: its result processor, or None

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        params = self.compiled.construct_params(values)  # a new dict: the statement's own values, checked
        for name, value in params.items():
            if isinstance(value, _SQL_NULL):
                params[name] = None
            elif (process := self.binds.get(name)) is not None:
                params[name] = process(value)
        return tuple(params[name] for name in self.order) if self.order is not None else params

    def row(self, raw: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(value if process is None else process(value) for process, value in zip(self.results, raw))


_PREPARED: dict[tuple[int, str], tuple[ClauseElement, _Prepared]] = {}


def _prepare(statement: ClauseElement, dialect: Dialect) -> _Prepared:
    key = (id(statement), dialect.name)
    found = _PREPARED.get(key)
    if found is not None and found[0] is statement:
        return found[1]
    compiled = statement.compile(dialect=dialect)
    binds = {}
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds[name] = process
    columns = getattr(statement, "selected_columns", None)
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns or ())
    prepared = _Prepared(compiled.string, compiled, tuple(compiled.positiontup) if compiled.positiontup else None,
                         binds, results)
    _PREPARED[key] = (statement, prepared)  # the statement is kept: its id stays its own
    return prepared


class Statements:
    """One pooled connection in autocommit, for the statements of one piece of work (each commits as it runs).

    `commit()` and `rollback()` are there for callers that also take a session, and change nothing.
    """

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self._url = url
        self._engine = engine or get_autocommit_engine(url)  # another autocommit engine of the URL, if given
        self._connection: Any = None  # the pooled DBAPI connection, checked out on first use
        self._bound: Connection | None = None  # it, wrapped for the session
        self._session: Session | None = None

    def _pooled(self) -> Any:
        if self._connection is None:
            self._connection = self._engine.raw_connection()
        return self._connection

    @property
    def session(self) -> Session:
        """An ORM session on the same pooled connection (autocommit too), opened on first use: for the reads a
        piece of work needs only sometimes (a spec document, the owner's secrets).

        One connection per piece of work: threads that each held one and waited for a second would wait for
        ever once they held every connection of the pool.
        """
        if self._session is None:
            self._bound = Connection(self._engine, connection=self._pooled())
            self._session = Session(bind=self._bound, expire_on_commit=False)
        return self._session

    def execute(self, statement: ClauseElement, values: Mapping[str, Any]) -> int:
        """Run a statement; the number of rows it changed."""
        return self._run(statement, values, fetch=False)

    def first(self, statement: ClauseElement, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Run a query; its first row (values as the column types read them), or None."""
        return self._run(statement, values, fetch=True)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def _run(self, statement: ClauseElement, values: Mapping[str, Any], *, fetch: bool) -> Any:
        dialect = self._engine.dialect
        prepared = _prepare(statement, dialect)
        params = prepared.parameters(values)
        cursor = None
        try:
            cursor = self._pooled().cursor()
            cursor.execute(prepared.sql, params)
            if not fetch:
                return cursor.rowcount
            raw = cursor.fetchone()
            return None if raw is None else prepared.row(raw)
        except dialect.loaded_dbapi.Error as error:
            connection = self._connection.dbapi_connection if self._connection is not None else None
            gone = dialect.is_disconnect(error, connection, cursor)
            if gone:
                self._invalidate(error)
                drop_pooled_connections(self._url)
            raise exc.DBAPIError.instance(prepared.sql, None, error, dialect.loaded_dbapi.Error, hide_parameters=True,
                                          connection_invalidated=gone, dialect=dialect) from error
        finally:
            if cursor is not None and self._connection is not None:
                cursor.close()

    def _invalidate(self, error: Exception) -> None:
        """The connection is dead: drop it from the pool (and the session on it)."""
        if self._session is not None:
            with suppress(Exception):
                self._session.close()
        if self._bound is not None:
            self._bound.invalidate(error)  # and the pooled connection it wraps
        elif self._connection is not None:
            self._connection.invalidate(error)
        self._session = self._bound = self._connection = None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
        if self._bound is not None:
            self._bound.close()  # the pooled connection it wraps goes back to the pool
        elif self._connection is not None:
            self._connection.close()  # back to the pool
        self._session = self._bound = self._connection = None


@contextmanager
def statement_scope(url: str, engine: Engine | None = None) -> Iterator[Statements]:
    """Statements in autocommit, each a transaction of its own: for work whose writes stand alone (one INSERT,
    one conditional UPDATE), one round trip each instead of BEGIN, the statement and COMMIT.

    Two writes in it do not commit or fail together (use `session_scope` for that). Reads see the latest
    committed data.
    """
    statements = Statements(url, engine)
    try:
        yield statements
    finally:
        statements.close()


Scope = Session | Statements  # what crud's one-statement functions run in: a transaction, or statements on their own


def execute(db: Scope, statement: ClauseElement, values: Mapping[str, Any]) -> int:
    """Run a statement in `db`, Statements or a Session (inside its transaction); the number of rows it changed."""
    if isinstance(db, Statements):
        return db.execute(statement, values)
    return db.connection().execute(statement, values).rowcount


def first(db: Scope, statement: ClauseElement, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Run a query in `db`, Statements or a Session; its first row, or None."""
    if isinstance(db, Statements):
        return db.first(statement, values)
    row = db.connection().execute(statement, values).first()
    return None if row is None else tuple(row)


def orm(db: Scope) -> Session:
    """A session to run ORM work in: `db` itself, or the Statements' own."""
    return db.session if isinstance(db, Statements) else db
