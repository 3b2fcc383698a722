"""The rows a URL lookup serves from, read by one plain statement on SQLite and a real PostgreSQL.

`crud.get_live_endpoint_by_hash` builds the endpoint, app and version from the statement's values
(models.detached): they must be what the ORM loads, and what they were not given must not read as None.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import inspect
from sqlalchemy.orm.exc import DetachedInstanceError

from backend import crud
from backend.core.db import session_scope
from backend.core.statements import statement_scope
from backend.models import App, AppVersion, McpEndpoint


@pytest.fixture(scope="module")
def secret_hash(url: str, version: AppVersion) -> str:
    """The hash of a live endpoint of `version`'s app (published, switched on, with limits of its own)."""
    found = uuid.uuid4().hex
    with session_scope(url) as session:
        app = session.get(App, version.app_id)
        assert app is not None
        app.published_version_id = version.id
        session.add(app)
        session.add(McpEndpoint(app_id=app.id, nonce=uuid.uuid4().hex, secret_hash=found, enabled=True,
                                calls_per_minute=7, max_concurrent_runs=2))
        session.commit()
    return found


def test_the_live_rows_are_the_rows_the_orm_loads_but_for_the_specs(url: str, version: AppVersion, secret_hash: str) -> None:
    with statement_scope(url) as db:
        served = crud.get_live_endpoint_by_hash(db=db, secret_hash=secret_hash)
    with session_scope(url) as session:  # a session serves too (the same statement)
        in_session = crud.get_live_endpoint_by_hash(db=session, secret_hash=secret_hash)
        endpoint = crud.get_endpoint_by_hash(session=session, secret_hash=secret_hash)
        assert endpoint is not None
        loaded = (endpoint, session.get(App, version.app_id), session.get(AppVersion, version.id))
        expected = [row.model_dump(exclude={"spec"}) for row in loaded]  # type: ignore[union-attr]
    assert served is not None and in_session is not None
    assert [row.model_dump(exclude={"spec"}) for row in served] == expected
    assert [row.model_dump(exclude={"spec"}) for row in in_session] == expected
    assert served[0].calls_per_minute == 7 and served[0].enabled is True
    assert served[2].created_at.tzinfo is not None  # values came through the column types


def test_a_column_not_read_raises_instead_of_reading_as_none(url: str, secret_hash: str) -> None:
    with statement_scope(url) as db:
        served = crud.get_live_endpoint_by_hash(db=db, secret_hash=secret_hash)
    assert served is not None
    endpoint, app, version = served
    assert all(inspect(row).detached for row in served)
    assert inspect(app).identity == (app.id,) and inspect(endpoint).identity == (endpoint.id,)
    with pytest.raises(DetachedInstanceError):
        _ = app.spec
    with pytest.raises(DetachedInstanceError):
        _ = version.spec
    with statement_scope(url) as db:
        assert crud.get_version_document(session=db.session, version_id=version.id) == {"name": "rows"}


def test_an_unknown_or_switched_off_endpoint_is_not_found(url: str, secret_hash: str) -> None:
    with statement_scope(url) as db:
        assert crud.get_live_endpoint_by_hash(db=db, secret_hash=uuid.uuid4().hex) is None
    with session_scope(url) as session:
        endpoint = crud.get_endpoint_by_hash(session=session, secret_hash=secret_hash)
        assert endpoint is not None
        endpoint.enabled = False
        crud.save_endpoint(session=session, endpoint=endpoint)
    try:
        with statement_scope(url) as db:
            assert crud.get_live_endpoint_by_hash(db=db, secret_hash=secret_hash) is None
    finally:
        with session_scope(url) as session:
            endpoint = crud.get_endpoint_by_hash(session=session, secret_hash=secret_hash)
            assert endpoint is not None
            endpoint.enabled = True
            crud.save_endpoint(session=session, endpoint=endpoint)
