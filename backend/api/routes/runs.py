"""Runs of your apps."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from backend import crud
from backend.api.deps import CurrentUser, SessionDep, SettingsDep
from backend.models import RunPublic, RunsPublic, RunStatus
from backend.services import runs

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("", response_model=RunsPublic)
def list_runs(
    session: SessionDep,
    user: CurrentUser,
    app_id: int | None = None,
    status: RunStatus | None = None,
    skip: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
) -> RunsPublic:
    """Runs of your apps, newest first."""
    rows, count = crud.list_runs(
        session=session, owner_id=user.id, app_id=app_id, status=status.value if status else None, skip=skip, limit=limit
    )
    return RunsPublic(data=[runs.run_public(r) for r in rows], count=count)


@router.get("/{run_id}", response_model=RunPublic)
def get_run(run_id: str, session: SessionDep, user: CurrentUser) -> RunPublic:
    """One run with its arguments, progress, trace and result or error."""
    run = crud.get_run(session=session, run_id=run_id, owner_id=user.id)
    if run is None:
        raise HTTPException(status_code=404, detail="run not found")
    return runs.run_public(run)


@router.post("/{run_id}/cancel", response_model=RunPublic)
def cancel_run(run_id: str, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> RunPublic:
    """Cancel a queued or running run."""
    if crud.get_run(session=session, run_id=run_id, owner_id=user.id) is None:
        raise HTTPException(status_code=404, detail="run not found")
    run = runs.cancel_run(session=session, settings=settings, run_id=run_id)
    assert run is not None
    return runs.run_public(run)
