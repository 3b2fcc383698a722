"""What stops a `toolpress` command, said in one line: what went wrong and what to do, never a traceback."""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from backend.core.logging import redact
from backend.core.settings import Settings
from backend.services import ServiceError

__all__ = ["explain", "explain_settings"]

logger = logging.getLogger("toolpress")

_MISSING_TABLE = ("no such table", "undefinedtable", "does not exist")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return redact(text.splitlines()[0] if text else type(error).__name__)


def _database(settings: Settings) -> str:
    """The database a command used, as a person would name it (a file, or the URL without its password)."""
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() == "sqlite":
        return url.database or "in memory"
    return url.render_as_string(hide_password=True)


def _no_database_file(settings: Settings) -> bool:
    url = make_url(settings.sqlalchemy_url)
    return url.get_backend_name() == "sqlite" and bool(url.database) and not Path(url.database).exists()


def _database_error(error: DBAPIError, settings: Settings) -> str:
    cause = error.orig if error.orig is not None else error
    if _no_database_file(settings) or any(marker in f"{type(cause).__name__} {cause}".lower() for marker in _MISSING_TABLE):
        return (f"the database {_database(settings)} has no Toolpress tables yet: run `toolpress db upgrade` (or start "
                "`toolpress serve`), or point TOOLPRESS_DATA_DIR / TOOLPRESS_DATABASE_URL at your existing data")
    return f"cannot use the database {_database(settings)} ({_first_line(cause)}); check TOOLPRESS_DATABASE_URL"


def explain(error: Exception, settings: Settings) -> str:
    """The one-line message for an error that ended a command (the details go to the debug log)."""
    logger.debug("the command failed", exc_info=error)
    if isinstance(error, ServiceError):
        return str(error)
    if isinstance(error, DBAPIError):
        return _database_error(error, settings)
    if isinstance(error, ArgumentError):
        return f"TOOLPRESS_DATABASE_URL is not a database URL ({_first_line(error)})"
    if isinstance(error, FileNotFoundError):
        return f"{error.filename}: no such file"
    if isinstance(error, PermissionError):
        return f"{error.filename}: permission denied; check TOOLPRESS_DATA_DIR and the file's permissions"
    if isinstance(error, OSError):
        return f"{error.strerror or _first_line(error)}{f': {error.filename}' if error.filename else ''}"
    return f"unexpected {type(error).__name__}: {_first_line(error)} (TOOLPRESS_LOG_LEVEL=DEBUG logs the details)"


def explain_settings(error: ValueError) -> str:
    """The settings that were refused, one line (`TOOLPRESS_PORT: Input should be a valid integer; …`)."""
    if not isinstance(error, ValidationError):
        return _first_line(error)
    problems = []
    for problem in error.errors():
        field = "TOOLPRESS_" + "_".join(str(part) for part in problem["loc"]).upper() + ": " if problem["loc"] else ""
        problems.append(field + problem["msg"].removeprefix("Value error, "))
    return "; ".join(problems)
