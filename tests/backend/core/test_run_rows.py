"""Run rows written one statement at a time (statement_scope, crud.runs) on SQLite and a real PostgreSQL.

The hot path records a run with one INSERT and moves it with one conditional UPDATE each, every statement its
own transaction: what those statements leave must be what the ORM's load-then-save left.
"""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text

from backend import crud
from backend.core.db import get_autocommit_engine, session_scope
from backend.core.statements import statement_scope
from backend.models import AppVersion, Run, RunStatus, queued_run


def _queued(url: str, version: AppVersion, **fields: object) -> Run:
    run = queued_run(app_id=version.app_id, version_id=version.id, inputs={"text": "hi", "n": [1, 2]}, **fields)
    with statement_scope(url) as session:
        crud.create_run(session=session, run=run)
    return run


def test_each_statement_commits_as_it_runs_and_rollback_undoes_nothing(url: str, version: AppVersion) -> None:
    run = Run(app_id=version.app_id, version_id=version.id, inputs={})
    with statement_scope(url) as session:
        crud.create_run(session=session, run=run)
        with session_scope(url) as other:  # another connection sees it while the scope is still open
            assert crud.get_run_status(session=other, run_id=run.id) is RunStatus.queued
        assert crud.end_run(session=session, run_id=run.id, to=RunStatus.cancelled, error="stop")
        session.rollback()
    with session_scope(url) as session:
        assert crud.get_run_status(session=session, run_id=run.id) is RunStatus.cancelled


def test_a_recorded_run_reads_back_as_it_was_built(url: str, version: AppVersion) -> None:
    run = _queued(url, version, client_name="client", access="url", call_depth=2, answers={"q1": {"ok": True}})
    with session_scope(url) as session:
        stored = crud.get_run(session=session, run_id=run.id)
        assert stored is not None
        assert stored.status == RunStatus.queued
        assert stored.model_dump(exclude={"status"}) == run.model_dump(exclude={"status"})


def test_a_queued_run_is_read_with_its_app_and_version_and_taken_once(url: str, version: AppVersion) -> None:
    run = _queued(url, version, purpose="prompt:x", call_depth=1)
    with statement_scope(url) as session:
        queued = crud.get_queued_run(session=session, run_id=run.id)
        assert queued is not None
        assert (queued.app_id, queued.version_id, queued.inputs, queued.purpose, queued.call_depth) == (
            version.app_id, version.id, {"text": "hi", "n": [1, 2]}, "prompt:x", 1)
        assert queued.app is not None and queued.app.version is not None
        assert queued.app.version.id == version.id
        assert crud.claim_run(session=session, run_id=run.id, worker="w1@host")
        assert not crud.claim_run(session=session, run_id=run.id, worker="w2@host")  # a redelivery
        assert crud.get_queued_run(session=session, run_id=run.id) is None
        assert crud.get_queued_run(session=session, run_id="no-such-run") is None
    with session_scope(url) as session:
        stored = crud.get_run(session=session, run_id=run.id)
        assert stored is not None and stored.status == RunStatus.running
        assert stored.worker == "w1@host" and stored.started_at is not None


def test_an_ended_run_keeps_its_values_and_its_absent_ones_are_sql_null(url: str, version: AppVersion) -> None:
    run = _queued(url, version)
    with statement_scope(url) as session:
        assert crud.claim_run(session=session, run_id=run.id, worker="w")
        assert crud.end_run(session=session, run_id=run.id, to=RunStatus.succeeded, result={"text": "hi"}, trace=None,
                            error=None)
        # a cancel arriving after the end changes nothing: the status no longer allows it
        assert not crud.end_run(session=session, run_id=run.id, to=RunStatus.cancelled, error="late")
    with session_scope(url) as session:
        row = session.execute(text("SELECT status, error, trace IS NULL, result IS NULL, ended_at IS NOT NULL "
                                   "FROM run WHERE id = :id"), {"id": run.id}).one()
        assert tuple(row) == ("succeeded", None, True, False, True)
        stored = crud.get_run(session=session, run_id=run.id)
        assert stored is not None and stored.result == {"text": "hi"}


def test_a_run_whose_version_is_gone_reads_its_app_without_one(url: str, version: AppVersion) -> None:
    run = _queued(url, version)
    with session_scope(url) as session:  # as if its version row went and the run pointed nowhere
        session.execute(text("UPDATE run SET version_id = NULL WHERE id = :id"), {"id": run.id})
        session.commit()
    with statement_scope(url) as session:
        queued = crud.get_queued_run(session=session, run_id=run.id)
    assert queued is not None and queued.app is not None and queued.app.version is None


def test_a_failed_statement_raises_sqlalchemys_error_without_the_values_it_was_given(url: str, version: AppVersion) -> None:
    run = Run(app_id=version.app_id, version_id=version.id, inputs={"password": "hunter2-do-not-log"})
    with statement_scope(url) as session:
        crud.create_run(session=session, run=run)
        with pytest.raises(exc.IntegrityError) as raised:  # the same id twice
            crud.create_run(session=session, run=run)
        assert crud.get_queued_run(session=session, run_id=run.id) is not None  # the connection still serves
    assert "hunter2-do-not-log" not in str(raised.value)
    assert "parameters" not in str(raised.value)  # neither shown nor said to be hidden: not given to the error at all
    assert "INSERT INTO run" in str(raised.value)


def test_the_session_of_statements_runs_on_their_own_pooled_connection(url: str, version: AppVersion) -> None:
    """One connection per piece of work: a second checkout while holding the first can wait for ever once every
    thread holds one (many URL lookups at once, each reading a spec document)."""
    run = _queued(url, version)
    pool = get_autocommit_engine(url).pool
    before = pool.checkedout()
    with statement_scope(url) as db:
        assert crud.get_run_status(session=db.session, run_id=run.id) is RunStatus.queued
        assert crud.end_run(session=db, run_id=run.id, to=RunStatus.cancelled, error="stop")
        assert crud.get_run_status(session=db.session, run_id=run.id) is RunStatus.cancelled  # sees the write at once
        assert pool.checkedout() == before + 1
    assert pool.checkedout() == before
