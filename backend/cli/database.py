"""`toolpress db`, the migrations every command that creates the database runs, and a session for commands."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session

from backend.core.db import session_scope
from backend.core.settings import Settings

__all__ = ["cmd_db", "migrate", "with_session"]


def _alembic_config(settings: Settings):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    root = Path(__file__).resolve().parents[2]
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "alembic"))
    cfg.attributes["database_url"] = settings.sqlalchemy_url
    return cfg


def migrate(settings: Settings) -> None:
    """Bring the database schema to the newest migration."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:  # Alembic's INFO lines only when debugging
        logging.getLogger("alembic").setLevel(logging.WARNING)
    from alembic import command

    if settings.sqlalchemy_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(_alembic_config(settings), "head")


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    """`toolpress db upgrade`."""
    migrate(settings)
    print("database is at the newest schema")
    return 0


def with_session(settings: Settings, fn: Callable[[Session], int]) -> int:
    """Run `fn` in a database session (committed by it) and return its exit status."""
    with session_scope(settings.sqlalchemy_url) as session:
        return fn(session)
