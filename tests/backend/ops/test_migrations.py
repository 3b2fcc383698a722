"""Alembic on PostgreSQL: the models match the migrations, and every migration upgrades and downgrades.

The tests run the `alembic` command itself (as CI and operators do) against a fresh database, and
read the expected heads from the migration scripts, so they hold for any set of migrations.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from support.stack import BIN, REPO, create_database, drop_database


@pytest.fixture
def database() -> Iterator[str]:
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


def _alembic(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLPRESS_")}
    env["TOOLPRESS_DATABASE_URL"] = url
    return subprocess.run(
        [str(BIN / "alembic"), "-c", str(REPO / "alembic.ini"), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )


def _ok(url: str, *args: str) -> str:
    result = _alembic(url, *args)
    assert result.returncode == 0, f"alembic {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def _state(url: str) -> tuple[set[str], set[str]]:
    """(tables other than alembic_version, revisions recorded in alembic_version)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
            revisions = set()
            if inspect(conn).has_table("alembic_version"):
                revisions = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
        return tables, revisions
    finally:
        engine.dispose()


def _heads() -> set[str]:
    return set(ScriptDirectory(str(REPO / "alembic")).get_heads())


def test_alembic_check_finds_no_model_change_without_a_migration(database: str) -> None:
    _ok(database, "upgrade", "head")
    assert _state(database)[1] == _heads()
    out = _ok(database, "check")
    assert "No new upgrade operations detected" in out


def test_alembic_check_fails_when_the_schema_drifts_from_the_models(database: str) -> None:
    """The check is live: a column missing from the database is reported, so a missing migration would be."""
    _ok(database, "upgrade", "head")
    engine = create_engine(database)
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE run DROP COLUMN progress_message"))
    finally:
        engine.dispose()
    result = _alembic(database, "check")
    assert result.returncode != 0
    assert "progress_message" in result.stdout + result.stderr


def test_migrations_upgrade_downgrade_to_base_and_upgrade_again(database: str) -> None:
    _ok(database, "upgrade", "head")
    tables, revisions = _state(database)
    assert revisions == _heads()
    assert {"user", "app", "appversion", "mcpendpoint", "run"} <= tables

    _ok(database, "downgrade", "base")
    assert _state(database) == (set(), set())

    _ok(database, "upgrade", "head")
    assert _state(database) == (tables, _heads())
    assert "No new upgrade operations detected" in _ok(database, "check")
