"""Databases of their own, SQLite and a real PostgreSQL, for tests of the rows the hot path reads and writes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlmodel import SQLModel

from backend.core.db import get_autocommit_engine, get_engine, session_scope
from backend.models import App, AppVersion, User
from support.stack import POSTGRES_ADMIN_URL


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of its own with the tables made from the models."""
    if request.param == "sqlite":
        found = f"sqlite:///{tmp_path_factory.mktemp('rows') / 'rows.db'}"
        SQLModel.metadata.create_all(get_engine(found))
        yield found
        get_engine(found).dispose()
        get_autocommit_engine(found).dispose()
        return
    name = f"toolpress_rows_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    found = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    SQLModel.metadata.create_all(get_engine(found))
    try:
        yield found
    finally:
        get_engine(found).dispose()
        get_autocommit_engine(found).dispose()
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def version(url: str) -> AppVersion:
    """A published version of an app of a user."""
    with session_scope(url) as session:
        user = User(email=f"{uuid.uuid4().hex[:8]}@example.com", password_hash="x")
        session.add(user)
        session.commit()
        app = App(owner_id=user.id, name=f"rows {uuid.uuid4().hex[:6]}", spec={"name": "rows"})
        session.add(app)
        session.commit()
        found = AppVersion(app_id=app.id, number=1, spec={"name": "rows"})
        session.add(found)
        session.commit()
        return found
