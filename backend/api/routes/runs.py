"""Runs of your apps: the record of every call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query

from backend import crud
from backend.api.deps import CurrentUser, OwnedApp, SessionDep, SettingsDep
from backend.models import RunPublic, RunsPublic, RunStatus
from backend.services import runs, usage

router = APIRouter(tags=["runs"])


@router.get("/runs", response_model=RunsPublic)
def list_runs(
    session: SessionDep,
    user: CurrentUser,
    app_id: int | None = None,
    status: RunStatus | None = None,
    since: datetime | None = Query(None, description="Only runs created at or after this time (ISO 8601)."),
    until: datetime | None = Query(None, description="Only runs created before this time (ISO 8601)."),
    client: str | None = Query(None, max_length=200, description="Only runs from this client name."),
    toolkit_id: int | None = None,
    skip: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
) -> RunsPublic:
    """Runs of your apps, newest first, filtered and paged; `count` is the total over all pages."""
    if since is not None and until is not None and since >= until:
        raise HTTPException(status_code=422, detail="`since` must be before `until`")
    rows, count = crud.list_runs(
        session=session,
        owner_id=user.id,
        app_id=app_id,
        status=status.value if status else None,
        since=since,
        until=until,
        client=client,
        toolkit_id=toolkit_id,
        skip=skip,
        limit=limit,
    )
    return RunsPublic(data=[usage.run_record(r) for r in rows], count=count)


@router.get("/runs/{run_id}", response_model=RunPublic)
def get_run(run_id: str, session: SessionDep, user: CurrentUser) -> RunPublic:
    """One run: how it came in, its (redacted) arguments, progress trail, trace, and result or error."""
    run = crud.get_run(session=session, run_id=run_id, owner_id=user.id)
    if run is None:
        raise HTTPException(status_code=404, detail="run not found")
    return usage.run_record(run)


@router.post("/runs/{run_id}/cancel", response_model=RunPublic)
def cancel_run(run_id: str, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> RunPublic:
    """Cancel a queued or running run."""
    if crud.get_run(session=session, run_id=run_id, owner_id=user.id) is None:
        raise HTTPException(status_code=404, detail="run not found")
    run = runs.cancel_run(session=session, settings=settings, run_id=run_id)
    assert run is not None
    return usage.run_record(run)


@router.get("/apps/{app_id}/usage")
def app_usage(app: OwnedApp, session: SessionDep) -> dict[str, Any]:
    """Calls, errors, cancellations and p50/p95 duration (ms) over the last day and week."""
    return {"app_id": app.id, **usage.app_usage(session=session, app_id=app.id)}  # type: ignore[arg-type]
