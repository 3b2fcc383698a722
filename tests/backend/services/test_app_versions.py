"""Versions, rollback, duplicates and draft test runs in the apps service, on a migrated SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from backend import crud
from backend.cli.database import migrate
from backend.core.db import get_engine
from backend.core.settings import Settings
from backend.models import RunStatus, User
from backend.services import InvalidSpec, NotFound, apps, secrets
from backend.services.execution import execute_run


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fixed server key and a fresh, migrated SQLite database."""
    configured = Settings(data_dir=tmp_path, secret_key="k" * 48)
    migrate(configured)
    return configured


def _spec(value: str, name: str = "Versioned") -> dict:
    return {
        "name": name,
        "inputs": [{"name": "who", "type": "string", "default": "you"}],
        "steps": [{"id": "say", "type": "template", "template": value + " {{ inputs.who }}"}],
        "outputs": [{"name": "said", "type": "string", "value": "{{ steps.say.text }}"}],
    }


def _owner(session: Session) -> User:
    return crud.create_user(session=session, email="owner@example.com", password_hash=None)


def test_rollback_serves_an_earlier_version_and_leaves_the_draft(settings: Settings) -> None:
    with Session(get_engine(settings.sqlalchemy_url)) as session:
        app = apps.create_app(session=session, owner=_owner(session), spec=apps.parse_spec(spec=_spec("one")))
        apps.publish_app(session=session, app=app)
        apps.update_draft(session=session, app=app, spec=apps.parse_spec(spec=_spec("two")))
        apps.publish_app(session=session, app=app)
        apps.update_draft(session=session, app=app, spec=apps.parse_spec(spec=_spec("three")))

        version = apps.rollback_app(session=session, app=app, number=1)

        assert apps.published_version(session=session, app=app).number == version.number == 1
        assert [v.number for v in apps.list_versions(session=session, app=app)] == [2, 1]
        assert app.spec["steps"][0]["template"].startswith("three")
        with pytest.raises(NotFound, match="no version 7"):
            apps.rollback_app(session=session, app=app, number=7)


def test_restore_copies_a_version_into_the_draft(settings: Settings) -> None:
    with Session(get_engine(settings.sqlalchemy_url)) as session:
        app = apps.create_app(session=session, owner=_owner(session), spec=apps.parse_spec(spec=_spec("one")))
        apps.publish_app(session=session, app=app)
        apps.update_draft(session=session, app=app, spec=apps.parse_spec(spec=_spec("two")))
        apps.restore_draft(session=session, app=app, number=1)
        assert app.spec["steps"][0]["template"].startswith("one")
        assert apps.published_version(session=session, app=app).number == 1


def test_duplicates_get_numbered_copy_names_and_no_versions(settings: Settings) -> None:
    with Session(get_engine(settings.sqlalchemy_url)) as session:
        owner = _owner(session)
        app = apps.create_app(session=session, owner=owner, spec=apps.parse_spec(spec=_spec("one", "Tool")))
        apps.publish_app(session=session, app=app)
        first = apps.duplicate_app(session=session, app=app, owner=owner)
        second = apps.duplicate_app(session=session, app=app, owner=owner)
        assert (first.name, second.name) == ("Tool (copy)", "Tool (copy) (2)")
        assert first.published_version_id is None and first.spec["steps"] == app.spec["steps"]


def test_a_console_test_run_executes_the_draft_not_the_published_version(settings: Settings) -> None:
    with Session(get_engine(settings.sqlalchemy_url), expire_on_commit=False) as session:
        app = apps.create_app(session=session, owner=_owner(session), spec=apps.parse_spec(spec=_spec("one")))
        apps.publish_app(session=session, app=app)
        apps.update_draft(session=session, app=app, spec=apps.parse_spec(spec=_spec("draft")))
        run = apps.create_test_run(session=session, app=app, inputs={"who": "Ada"})
        assert (run.version_id, run.source, RunStatus(run.status)) == (None, "console", RunStatus.queued)
        run_id = run.id

    execute_run(settings=settings, run_id=run_id)

    with Session(get_engine(settings.sqlalchemy_url)) as session:
        done = crud.get_run(session=session, run_id=run_id)
        assert RunStatus(done.status) is RunStatus.succeeded
        assert done.result == {"said": "draft Ada"}
        assert (done.progress_done, done.progress_total) == (1, 1)


def test_an_app_saved_before_the_secret_rules_opens_and_runs_without_the_secret_but_is_not_published_again(
        settings: Settings) -> None:
    """A draft and a version stored when a template could still read a secret (written here past the checks)."""
    leaky = {**_spec("x"), "steps": [{"id": "say", "type": "template", "template": "key={{ secrets.OLD_KEY }}"}]}
    with Session(get_engine(settings.sqlalchemy_url), expire_on_commit=False) as session:
        owner = _owner(session)
        secrets.set_secret(session=session, settings=settings, owner_id=owner.id, name="OLD_KEY", value="sk-old-9d1e7c")
        app = apps.create_app(session=session, owner=owner, spec=apps.parse_spec(spec=_spec("fine")))
        apps.publish_app(session=session, app=app)
        crud.update_app_spec(session=session, app=app, name=app.name, spec=leaky)
        crud.create_version(session=session, app=app)  # version 2, as stored under the older rules

        assert apps.load_spec_of(app.spec).steps[0].id == "say"  # the console, lists and exports still open it
        assert "secrets.OLD_KEY" in apps.export_yaml(app)
        with pytest.raises(InvalidSpec, match=r"template uses secrets\.OLD_KEY: a secret may only be sent"):
            apps.publish_app(session=session, app=app)
        apps.rollback_app(session=session, app=app, number=1)
        with pytest.raises(InvalidSpec, match=r"secrets\.OLD_KEY"):
            apps.rollback_app(session=session, app=app, number=2)
        assert apps.published_version(session=session, app=app).number == 1
        run_id = apps.create_test_run(session=session, app=app, inputs={}).id  # runs the stored draft

    execute_run(settings=settings, run_id=run_id)

    with Session(get_engine(settings.sqlalchemy_url)) as session:
        done = crud.get_run(session=session, run_id=run_id)
        assert RunStatus(done.status) is RunStatus.failed
        assert "secret 'OLD_KEY' can only be sent to the outside" in done.error
        assert "sk-old-9d1e7c" not in f"{done.error} {done.result} {done.trace}"


def test_publishing_an_unchanged_draft_keeps_the_published_version(settings: Settings) -> None:
    with Session(get_engine(settings.sqlalchemy_url)) as session:
        app = apps.create_app(session=session, owner=_owner(session), spec=apps.parse_spec(spec=_spec("one")))
        assert not apps.draft_is_published(session=session, app=app)
        first = apps.publish_app(session=session, app=app)
        assert apps.draft_is_published(session=session, app=app)
        assert apps.publish_app(session=session, app=app).id == first.id
        apps.update_draft(session=session, app=app, spec=apps.parse_spec(spec=_spec("two")))
        assert apps.publish_app(session=session, app=app).number == 2
        assert [v.number for v in apps.list_versions(session=session, app=app)] == [2, 1]


def test_an_app_is_found_by_id_name_in_any_case_or_tool_name(settings: Settings) -> None:
    with Session(get_engine(settings.sqlalchemy_url)) as session:
        owner = _owner(session)
        spec = {**_spec("one", "Order Lookup"), "tool_name": "lookup_order"}
        app = apps.create_app(session=session, owner=owner, spec=apps.parse_spec(spec=spec))
        for ref in (str(app.id), "Order Lookup", "order lookup", "lookup_order"):
            assert apps.resolve_app(session=session, ref=ref, owner_id=owner.id).id == app.id
        with pytest.raises(NotFound, match="no app 'lookup'"):
            apps.resolve_app(session=session, ref="lookup", owner_id=owner.id)


def test_each_run_executes_the_version_it_was_created_with(settings: Settings) -> None:
    from backend.services.runs import new_run

    with Session(get_engine(settings.sqlalchemy_url)) as session:
        app = apps.create_app(session=session, owner=_owner(session), spec=apps.parse_spec(spec=_spec("one")))
        first = apps.publish_app(session=session, app=app)
        apps.update_draft(session=session, app=app, spec=apps.parse_spec(spec=_spec("two")))
        second = apps.publish_app(session=session, app=app)
        apps.update_draft(session=session, app=app, spec=apps.parse_spec(spec=_spec("draft")))
        older = crud.create_run(session=session, run=new_run(app=app, version=first, inputs={"who": "Ada"})).id
        newer = crud.create_run(session=session, run=new_run(app=app, version=second, inputs={"who": "Bo"})).id
    execute_run(settings=settings, run_id=older)
    execute_run(settings=settings, run_id=newer)

    with Session(get_engine(settings.sqlalchemy_url)) as session:
        assert crud.get_run(session=session, run_id=older).result == {"said": "one Ada"}
        assert crud.get_run(session=session, run_id=newer).result == {"said": "two Bo"}
