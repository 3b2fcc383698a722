"""Run rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import JSON, Update, and_, bindparam, func, insert, null, update
from sqlmodel import Session, col, delete, or_, select

from backend.core import statements
from backend.crud.apps import RunApp, VersionRef
from backend.crud.run_files import delete_run_files
from backend.models import TERMINAL_STATUSES, App, AppVersion, Run, RunStatus, sources_of, transition_stamps


def create_run(*, session: statements.Scope, run: Run) -> Run:
    """Insert a run in one statement (every column is set in Python, so nothing needs reading back); commits.

    Core, on the table: the ORM's unit of work would only build an INSERT of the same columns, at more cost.
    The run stays a plain object, not tracked by `session`.
    """
    statements.execute(session, _INSERT_RUN, {column.key: getattr(run, column.key) for column in _RUNS.columns})
    session.commit()
    return run


def get_run(*, session: Session, run_id: str, owner_id: int | None = None) -> Run | None:
    """A run by id, optionally only if its app belongs to `owner_id`."""
    run = session.get(Run, run_id)
    if run is None:
        return None
    if owner_id is not None:
        app = session.get(App, run.app_id)
        if app is None or app.owner_id != owner_id:
            return None
    return run


def get_run_status(*, session: Session, run_id: str) -> RunStatus | None:
    """Only the status of a run (one column, no row object), or None if it does not exist."""
    status = session.exec(select(Run.status).where(Run.id == run_id)).first()
    return None if status is None else RunStatus(status)


def get_run_statuses(*, session: Session, run_ids: Sequence[str]) -> dict[str, RunStatus]:
    """The statuses of many runs in one query; ids that do not exist are absent from the result."""
    rows = session.exec(select(Run.id, Run.status).where(col(Run.id).in_(list(run_ids)))).all()
    return {run_id: RunStatus(status) for run_id, status in rows}


def update_run_progress(
    *,
    session: Session,
    run_id: str,
    progress_done: int,
    progress_total: int,
    progress_message: str | None,
    progress_trail: list[dict[str, Any]] | None = None,
) -> None:
    """Record the progress of a running run in one UPDATE; a run that is no longer running is left alone."""
    values: dict[str, Any] = {
        "progress_done": progress_done, "progress_total": progress_total, "progress_message": progress_message
    }
    if progress_trail is not None:
        values["progress_trail"] = progress_trail
    session.exec(update(Run).where(col(Run.id) == run_id, col(Run.status) == RunStatus.running.value).values(**values))
    session.commit()


def list_runs(
    *,
    session: Session,
    owner_id: int | None = None,
    app_id: int | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    client: str | None = None,
    toolkit_id: int | None = None,
    skip: int = 0,
    limit: int = 50,
) -> tuple[list[Run], int]:
    """A page of runs, newest first, and the total count; `client` matches the client name exactly."""
    conditions: list[Any] = []
    if app_id is not None:
        conditions.append(Run.app_id == app_id)
    if status is not None:
        conditions.append(Run.status == status)
    if since is not None:
        conditions.append(col(Run.created_at) >= since)
    if until is not None:
        conditions.append(col(Run.created_at) < until)
    if client is not None:
        conditions.append(Run.client_name == client)
    if toolkit_id is not None:
        conditions.append(Run.toolkit_id == toolkit_id)
    query = select(Run)
    count_query = select(func.count()).select_from(Run)
    if owner_id is not None:
        query = query.join(App, col(App.id) == col(Run.app_id)).where(App.owner_id == owner_id)
        count_query = count_query.join(App, col(App.id) == col(Run.app_id)).where(App.owner_id == owner_id)
    if conditions:
        query = query.where(*conditions)
        count_query = count_query.where(*conditions)
    order = (col(Run.created_at).desc(), col(Run.id).desc())
    rows = session.exec(query.order_by(*order).offset(skip).limit(limit)).all()
    return list(rows), int(session.exec(count_query).one())


def list_finished_runs(*, session: Session, app_id: int, since: datetime) -> list[tuple[str, datetime | None, datetime | None]]:
    """(status, started_at, ended_at) of an app's runs that ended, created since `since`."""
    query = select(Run.status, Run.started_at, Run.ended_at).where(
        Run.app_id == app_id, col(Run.created_at) >= since, col(Run.status).in_([s.value for s in TERMINAL_STATUSES])
    )
    return [(str(status), started, ended) for status, started, ended in session.exec(query).all()]


def delete_runs_before(*, session: Session, cutoff: datetime, batch: int = 1000) -> int:
    """Delete up to `batch` ended runs created before `cutoff`; return how many went."""
    ids = select(Run.id).where(
        col(Run.created_at) < cutoff, col(Run.status).in_([s.value for s in TERMINAL_STATUSES])
    ).limit(batch)
    doomed = list(session.exec(ids).all())
    if doomed:
        delete_run_files(session=session, run_ids=doomed)
        session.exec(delete(Run).where(col(Run.id).in_(doomed)))
    session.commit()
    return len(doomed)


class QueuedRun(NamedTuple):
    """What a worker needs of a queued run to take it (`get_queued_run`): no row object, only these columns."""

    app_id: int
    version_id: int | None
    source: str
    inputs: dict[str, Any]
    purpose: str | None
    call_depth: int
    parked: dict[str, Any] | None
    answers: dict[str, Any] | None
    app: RunApp | None  # the run's app and version; None when the app is gone


_RUNS, _APPS, _VERSIONS = Run.__table__, App.__table__, AppVersion.__table__  # type: ignore[attr-defined]
_INSERT_RUN = insert(_RUNS)
_JSON_COLUMNS = frozenset(column.key for column in _RUNS.columns if isinstance(column.type, JSON))
_QUEUED_RUN = (
    select(*[_RUNS.c[name] for name in QueuedRun._fields[:-1]],
           _APPS.c.owner_id, _APPS.c.name, _VERSIONS.c.id, _VERSIONS.c.created_at)
    .select_from(
        _RUNS.outerjoin(_APPS, _APPS.c.id == _RUNS.c.app_id)
        .outerjoin(_VERSIONS, and_(_VERSIONS.c.id == _RUNS.c.version_id, _VERSIONS.c.app_id == _RUNS.c.app_id))
    )
    .where(_RUNS.c.id == bindparam("run_id"), _RUNS.c.status == RunStatus.queued.value)
)


def get_queued_run(*, session: statements.Scope, run_id: str) -> QueuedRun | None:
    """A queued run's columns a worker needs, with its app and version, in one query (no row objects, neither
    spec document); None when the run is missing or no longer queued (redelivered, cancelled)."""
    row = statements.first(session, _QUEUED_RUN, {"run_id": run_id})
    if row is None:
        return None
    *columns, owner_id, name, version_id, created_at = row
    version = VersionRef(version_id, created_at) if version_id is not None else None
    return QueuedRun(*columns, app=RunApp(owner_id, name, version) if owner_id is not None else None)


@lru_cache(maxsize=64)
def _transition(to: RunStatus, names: tuple[str, ...]) -> Update:
    """``UPDATE run SET status = to, its time stamps, names… WHERE id = :run_id AND status IN (the statuses that
    may move to `to`)``, built once per (to, names): a move only binds its values (`_move`).

    Core, on the table: the caller gets back the columns it asks for, never a Run to build and track.
    """
    # one bound value per status, not an expanding IN: the SQL is then fixed when compiled (backend.core.statements)
    allowed = [bindparam(f"from_{status.value}", status.value) for status in sources_of(to)]
    values = {name: bindparam(f"set_{name}", type_=_RUNS.c[name].type) for name in (*names, *transition_stamps(to))}
    return update(_RUNS).where(_RUNS.c.id == bindparam("run_id"), _RUNS.c.status.in_(allowed)).values(
        status=to.value, **values)


def _move(session: statements.Scope, run_id: str, to: RunStatus, fields: dict[str, Any]) -> bool:
    """Run `_transition`; whether the run moved. None in a JSON column is SQL NULL, as in ``values(x=None)``."""
    params = {f"set_{name}": null() if value is None and name in _JSON_COLUMNS else value
              for name, value in {**fields, **transition_stamps(to)}.items()}
    return statements.execute(session, _transition(to, tuple(sorted(fields))), {"run_id": run_id, **params}) == 1


def claim_run(*, session: statements.Scope, run_id: str, worker: str | None) -> bool:
    """Move a queued run to running for `worker` in one conditional UPDATE; False when it is missing or no longer
    queued (redelivered, cancelled). The caller commits (or claims in autocommit: the claim is then its own)."""
    return _move(session, run_id, RunStatus.running, {"worker": worker})


def end_run(*, session: statements.Scope, run_id: str, to: RunStatus, **fields: Any) -> bool:
    """Move a run to `to` (setting `fields` too) in one conditional UPDATE, if its status allows it.

    False when the run is missing or its status does not allow the move (another writer got there first).
    Nothing is read back. The caller commits, so more writes can share the transaction.
    """
    return _move(session, run_id, to, fields)


def save_run(*, session: Session, run: Run) -> Run:
    """Persist changes to a run (sessions keep attributes on commit, so the object stays current)."""
    session.add(run)
    session.commit()
    return run


def in_flight_run_ids(
    *, session: Session, endpoint_id: int | None = None, toolkit_id: int | None = None, url_only: bool = False
) -> list[str]:
    """Ids of the still queued or running runs started through an app endpoint (not via a toolkit) or a toolkit.

    `url_only` keeps the runs that came in through the secret URL, not through a token or OAuth.
    """
    query = select(Run.id).where(col(Run.status).in_([RunStatus.queued, RunStatus.running]))
    if toolkit_id is not None:
        query = query.where(Run.toolkit_id == toolkit_id)
    else:
        query = query.where(Run.endpoint_id == endpoint_id, col(Run.toolkit_id).is_(None))
    if url_only:
        query = query.where(or_(col(Run.access).is_(None), Run.access == "url"))
    return list(session.exec(query).all())
