"""queued_run: a new run built straight into its dict is the run `Run(...)` builds, and the ORM treats it as one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel, create_engine

from backend.models import App, AppVersion, Run, RunStatus, User, apply_transition, queued_run

VALUES = {"app_id": 7, "version_id": 3, "endpoint_id": 2, "source": "mcp", "inputs": {"text": "hi"},
          "client_name": "client", "access": "url", "call_depth": 1, "purpose": "prompt"}


def test_every_column_is_what_run_gives_it_and_the_factories_run_per_run() -> None:
    built, reference = queued_run(**VALUES), Run(**VALUES)
    assert built.model_dump(exclude={"id", "created_at"}) == reference.model_dump(exclude={"id", "created_at"})
    assert built.model_fields_set == reference.model_fields_set == set(VALUES)
    assert built.status is RunStatus.queued and built.task_id is None and built.result is None
    assert abs(built.created_at - datetime.now(timezone.utc)) < timedelta(seconds=5)
    first, second = queued_run(app_id=1), queued_run(app_id=1)
    assert len(first.id) == 32 and first.id != second.id
    first.inputs["x"] = 1
    assert second.inputs == {}  # a fresh dict per run, not one shared default


def test_an_unknown_or_missing_column_is_refused() -> None:
    with pytest.raises(TypeError, match=r"unknown columns \['colour'\]"):
        queued_run(app_id=1, colour="red")
    with pytest.raises(TypeError, match=r"missing columns \['app_id'\]"):
        queued_run(source="mcp")


def test_the_orm_saves_it_and_tracks_later_changes(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'runs.db'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        user = User(email="q@example.com", password_hash="x")
        session.add(user)
        session.flush()
        app = App(owner_id=user.id, name="q", spec={"name": "q"})
        session.add(app)
        session.flush()
        version = AppVersion(app_id=app.id, number=1, spec={"name": "q"})
        session.add(version)
        session.flush()
        run = queued_run(**{**VALUES, "app_id": app.id, "version_id": version.id, "endpoint_id": None})
        session.add(run)
        session.commit()
        apply_transition(run, RunStatus.running)  # a change after the build is seen by the unit of work
        session.commit()
        run_id, expected = run.id, run.model_dump(exclude={"created_at", "started_at", "status"})
    with Session(engine) as session:
        stored = session.get(Run, run_id)
        assert stored is not None and stored.status == RunStatus.running and stored.started_at is not None
        assert stored.model_dump(exclude={"created_at", "started_at", "status"}) == expected
    engine.dispose()
