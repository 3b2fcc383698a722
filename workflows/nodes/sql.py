"""The ``sql`` node: one parameterized statement against PostgreSQL, MySQL or SQLite."""

from __future__ import annotations

import builtins
from typing import Any, ClassVar

from pydantic import Field

from workflows.errors import NodeFailure, RunCancelled
from workflows.nodes.base import Node, NodeConfig, NodeContext
from workflows.spec import AppSpec

__all__ = ["SqlConfig", "SqlNode"]

MAX_RESULT_BYTES = 10 * 1_048_576


class SqlConfig(NodeConfig):
    """Fields of an sql step: where (a URL from a secret), what (SQL with :name placeholders) and limits."""

    connection: str = Field(min_length=1, description="Database URL, from a secret: {{ secrets.DATABASE_URL }}.")
    statement: str = Field(min_length=1, max_length=100_000,
                           description="One SQL statement; values go in as :name placeholders, never spliced.")
    params: dict[str, Any] = Field(default_factory=dict, description="Placeholder name → value (templatable).")
    read_only: bool = Field(default=True, description="Run in a read-only transaction (writes are refused).")
    timeout: float = Field(default=10.0, gt=0, le=300, description="Seconds the statement may run.")
    max_rows: int = Field(default=1000, ge=1, le=100_000, description="Rows returned at most (then truncated).")
    max_bytes: int = Field(default=1_048_576, ge=1, le=MAX_RESULT_BYTES,
                           description="Bytes of JSON returned at most (then truncated).")


class SqlNode(Node[SqlConfig]):
    """Query a database the owner names in a secret, with bound parameters and read-only by default.

    The statement is fixed in the spec; only ``params`` are templated, and they are sent as bound
    parameters, so an input can never change the SQL. The database enforces ``read_only`` (a read-only
    transaction, or a read-only SQLite file), so a write is refused whatever the statement looks like.
    The host passes the same network policy as ``http_request`` (``workflows.sqldb.connect``). Result:
    ``rows`` (a list of objects, values mapped to JSON), ``columns``, ``row_count`` (rows returned, or rows
    affected by a write) and ``truncated`` (the row or byte limit cut the result).
    """

    type: ClassVar[str] = "sql"
    description: ClassVar[str] = "Run one SQL statement with bound parameters (read-only by default)."
    Config: ClassVar[builtins.type[NodeConfig]] = SqlConfig
    resolved_fields: ClassVar[tuple[str, ...]] = ("connection", "params")
    result_fields: ClassVar[tuple[str, ...] | None] = ("rows", "columns", "row_count", "truncated")
    secret_sinks: ClassVar[tuple[str, ...]] = ("connection",)
    secret_destination: ClassVar[str | None] = "connection"

    @classmethod
    def check(cls, config: NodeConfig, spec: AppSpec) -> list[tuple[str, str]]:
        """The statement is not a template, and its placeholders match ``params`` exactly."""
        assert isinstance(config, SqlConfig)
        from sqlalchemy.exc import ArgumentError  # noqa: PLC0415 - SQLAlchemy loads with the first sql step

        from workflows.sqldb import bind_names  # noqa: PLC0415

        if "{{" in config.statement or "{%" in config.statement:
            return [("statement", "the statement is not a template: pass values as :name placeholders in params")]
        try:
            names = bind_names(config.statement)
        except ArgumentError as exc:
            return [("statement", f"cannot read the statement's placeholders: {exc}")]
        problems = []
        missing = sorted(names - set(config.params))
        unused = sorted(set(config.params) - names)
        if missing:
            problems.append(("params", f"no value for placeholder{'s' if len(missing) > 1 else ''} "
                                       f"{', '.join(':' + n for n in missing)}"))
        if unused:
            problems.append(("params", f"the statement has no placeholder for {', '.join(unused)}"))
        return problems

    def run(self, config: SqlConfig, ctx: NodeContext) -> dict[str, Any]:
        """Open the database (after the network policy's check) and run the statement."""
        from workflows.sqldb import QueryLimits, open_engine, run_statement  # noqa: PLC0415

        allow = tuple(ctx.service("http_allow") or ())
        engine = open_engine(config.connection, allow=allow, connect_timeout=min(config.timeout, 10.0),
                             read_only=config.read_only)
        limits = QueryLimits(timeout=config.timeout, max_rows=config.max_rows, max_bytes=config.max_bytes)
        try:
            return ctx.wait(lambda: run_statement(engine, config.statement, config.params, read_only=config.read_only,
                                                  limits=limits, stop=ctx.cancelled), what="the database")
        except NodeFailure:
            if ctx.cancelled():  # the statement ended because of the cancel before the wait noticed it
                raise RunCancelled("run cancelled while its sql statement ran") from None
            raise
