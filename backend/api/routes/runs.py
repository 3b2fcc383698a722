"""Runs of your apps: the record of every call."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query

from backend import crud
from backend.api.deps import MAX_ID, CurrentUser, OwnedApp, SessionDep, SettingsDep
from backend.api.responses import errors
from backend.models import RunPublic, RunsPublic, RunStatus
from backend.services import QueueUnavailable, questions, runs, usage
from backend.services.errors import Conflict, InvalidAnswer

router = APIRouter(tags=["runs"], responses=errors(401, 422))

RunId = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="A run id (32 hex digits)")]


@router.get("/runs", response_model=RunsPublic)
def list_runs(
    session: SessionDep,
    user: CurrentUser,
    app_id: int | None = Query(None, ge=1, le=MAX_ID),
    status: RunStatus | None = None,
    since: datetime | None = Query(None, description="Only runs created at or after this time (ISO 8601)."),
    until: datetime | None = Query(None, description="Only runs created before this time (ISO 8601); none when it is not after `since`."),
    client: str | None = Query(None, max_length=200, description="Only runs from this client name."),
    toolkit_id: int | None = Query(None, ge=1, le=MAX_ID),
    skip: int = Query(0, ge=0, le=MAX_ID),
    limit: int = Query(50, ge=1, le=500),
) -> RunsPublic:
    """Runs of your apps, newest first, filtered and paged; `count` is the total over all pages."""
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


@router.get("/runs/{run_id}", response_model=RunPublic, responses=errors(404))
def get_run(run_id: RunId, session: SessionDep, user: CurrentUser) -> RunPublic:
    """One run: how it came in, its (redacted) arguments, progress trail, trace, and result or error."""
    run = crud.get_run(session=session, run_id=run_id, owner_id=user.id)
    if run is None:
        raise HTTPException(status_code=404, detail="run not found")
    return usage.run_record(run)


@router.post("/runs/{run_id}/cancel", response_model=RunPublic, responses=errors(404, 503))
def cancel_run(run_id: RunId, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> RunPublic:
    """Cancel a queued or running run."""
    if crud.get_run(session=session, run_id=run_id, owner_id=user.id) is None:
        raise HTTPException(status_code=404, detail="run not found")
    run = runs.cancel_run(session=session, settings=settings, run_id=run_id)
    assert run is not None
    return usage.run_record(run)


@router.post("/runs/{run_id}/answer", response_model=RunPublic, responses=errors(400, 404, 409, 413, 503, reason=True))
def answer_run(run_id: RunId, session: SessionDep, settings: SettingsDep, user: CurrentUser,
               body: Annotated[dict[str, Any] | None, Body(description="A RunAnswer: question_id, action "
                                                                   "(accept, decline, cancel) and content.")] = None
               ) -> RunPublic:
    """Answer the question a waiting run asks (`question.id`); the run is queued again and resumes on a worker."""
    run = crud.get_run(session=session, run_id=run_id, owner_id=user.id)
    if run is None:  # checked before the body, so another user's run looks missing whatever is sent
        raise HTTPException(status_code=404, detail="run not found")
    try:
        answered = questions.answer_by_person(settings=settings, run=run, raw=body)
    except InvalidAnswer as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    except Conflict as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    except QueueUnavailable as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from None
    return usage.run_record(answered)


@router.get("/apps/{app_id}/usage", responses=errors(404))
def app_usage(app: OwnedApp, session: SessionDep) -> dict[str, Any]:
    """Calls, errors, cancellations and p50/p95 duration (ms) over the last day and week."""
    return {"app_id": app.id, **usage.app_usage(session=session, app_id=app.id)}  # type: ignore[arg-type]
