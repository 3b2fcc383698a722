"""Running one parameterized SQL statement for an ``sql`` step (PostgreSQL, MySQL, SQLite via SQLAlchemy)."""

from workflows.sqldb.connect import DRIVERS, open_engine
from workflows.sqldb.query import QueryLimits, bind_names, run_statement, to_json

__all__ = ["DRIVERS", "QueryLimits", "bind_names", "open_engine", "run_statement", "to_json"]
