"""Runs of your apps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from backend import crud
from backend.api.deps import MAX_ID, CurrentUser, SessionDep, SettingsDep
from backend.api.responses import errors
from backend.models import RunPublic, RunsPublic, RunStatus
from backend.services import runs

router = APIRouter(prefix="/runs", tags=["runs"], responses=errors(401, 422))

RunId = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="A run id (32 hex digits)")]


@router.get("", response_model=RunsPublic)
def list_runs(
    session: SessionDep,
    user: CurrentUser,
    app_id: int | None = Query(None, ge=1, le=MAX_ID),
    status: RunStatus | None = None,
    skip: int = Query(0, ge=0, le=MAX_ID),
    limit: int = Query(50, ge=1, le=500),
) -> RunsPublic:
    """Runs of your apps, newest first."""
    rows, count = crud.list_runs(
        session=session, owner_id=user.id, app_id=app_id, status=status.value if status else None, skip=skip, limit=limit
    )
    return RunsPublic(data=[runs.run_public(r) for r in rows], count=count)


@router.get("/{run_id}", response_model=RunPublic, responses=errors(404))
def get_run(run_id: RunId, session: SessionDep, user: CurrentUser) -> RunPublic:
    """One run with its arguments, progress, trace and result or error."""
    run = crud.get_run(session=session, run_id=run_id, owner_id=user.id)
    if run is None:
        raise HTTPException(status_code=404, detail="run not found")
    return runs.run_public(run)


@router.post("/{run_id}/cancel", response_model=RunPublic, responses=errors(404, 503))
def cancel_run(run_id: RunId, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> RunPublic:
    """Cancel a queued or running run."""
    if crud.get_run(session=session, run_id=run_id, owner_id=user.id) is None:
        raise HTTPException(status_code=404, detail="run not found")
    run = runs.cancel_run(session=session, settings=settings, run_id=run_id)
    assert run is not None
    return runs.run_public(run)
