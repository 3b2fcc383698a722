"""Test runs of a draft, live run updates (server-sent events), the runs list and run details."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session

import workflows
from workflows.diagram import Diagram, diagram_of
from backend import crud
from backend.api.deps import SessionDep, SettingsDep
from backend.console.auth import ConsoleUser, CsrfHeaderChecked, OwnedConsoleApp, csrf_token
from backend.console.render import ConsoleRoute, PageNotFound, render, script_json
from backend.console.run_files import files_view
from backend.core.db import session_scope
from backend.core.events import get_event_bus
from backend.core.settings import Settings
from backend.models import TERMINAL_STATUSES, App, Run, RunStatus, User, as_utc
from backend.services import QueueUnavailable, apps, queueing, runs
from backend.services.errors import Conflict, InvalidAnswer
from backend.services.questions import answer_by_person

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

_NO_STORE = {"Cache-Control": "no-store"}
_STATUSES = [s.value for s in RunStatus]


class TestRunBody(BaseModel):
    """Arguments of a console test run."""

    model_config = ConfigDict(extra="forbid")
    arguments: dict[str, Any] = {}


_REQUIRED = re.compile(r"^'([^']+)' is a required property$")


def _located(path: str, message: str) -> dict[str, str]:
    """An argument problem, with a missing required argument placed at its own field."""
    missing = _REQUIRED.match(message) if path == "(root)" else None
    return {"path": missing.group(1), "message": "required"} if missing else {"path": path, "message": message}


def run_view(run: Run, *, brief: bool = False) -> dict[str, Any]:
    """A run as the console's scripts read it; `brief` leaves out arguments, result and trace (for lists)."""
    data = runs.run_public(run).model_dump(mode="json", exclude={"inputs", "result", "trace"} if brief else None)
    data["terminal"] = RunStatus(run.status) in TERMINAL_STATUSES
    if not brief:
        data["files"] = files_view(run)
    return data


def _owned_run(session: Session, user: User, run_id: str) -> Run:
    run = crud.get_run(session=session, run_id=run_id[:64], owner_id=user.id)
    if run is None:
        raise PageNotFound()
    return run


def usage_of(*, session: Session, app: App) -> dict[str, Any]:
    """Run counts by status, the mean duration of recent finished runs, and when the app last ran."""
    counts = {s: crud.list_runs(session=session, app_id=app.id, status=s, limit=1)[1] for s in _STATUSES}
    recent, total = crud.list_runs(session=session, app_id=app.id, limit=100)
    durations = [
        (as_utc(r.ended_at) - as_utc(r.started_at)).total_seconds() * 1000
        for r in recent if r.started_at and r.ended_at
    ]
    return {
        "total": total,
        "counts": counts,
        "in_flight": counts["queued"] + counts["running"],
        "mean_ms": round(sum(durations) / len(durations), 1) if durations else None,
        "last_run": recent[0] if recent else None,
        "mcp_calls": sum(1 for r in recent if r.source == "mcp"),
    }


@router.get("/apps/{app_id}/test")
def test_page(request: Request, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep,
              user: ConsoleUser) -> Response:
    """A form generated from the draft's input schema, with live progress of the run it starts."""
    spec = apps.load_spec_of(app.spec)
    tool = apps.describe_tool(spec)
    response = render(
        request, "test.html", user=user, app=app, tab="test", csrf_token=csrf_token(request, settings),
        diagram=diagram_of(spec),
        version=apps.published_version(session=session, app=app),
        input_schema_json=script_json(tool.input_schema),
        output_schema=json.dumps(tool.output_schema, indent=2, ensure_ascii=False),
    )
    response.headers.update(_NO_STORE)
    return response


@router.post("/apps/{app_id}/test-runs", dependencies=[CsrfHeaderChecked])
def start_test_run(app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep,
                   body: Annotated[TestRunBody, Body()]) -> JSONResponse:
    """Validate the arguments against the draft and queue a test run of it."""
    spec = apps.load_spec_of(app.spec)
    try:
        inputs = workflows.validate_inputs(spec, body.arguments)
    except workflows.InvalidInputs as exc:
        errors = [_located(issue.path, issue.message) for issue in exc.errors]
        return JSONResponse({"errors": errors}, status_code=422)
    run = apps.create_test_run(session=session, app=app, inputs=inputs)
    try:
        queueing.enqueue_run(session=session, settings=settings, run=run)
    except QueueUnavailable as exc:
        return JSONResponse({"errors": [{"path": "(run)", "message": str(exc)}], "run_id": run.id}, status_code=503)
    return JSONResponse({"run_id": run.id, "events": f"/runs/{run.id}/events", "detail": f"/runs/{run.id}"},
                        status_code=201)


def _load_view(settings: Settings, run_id: str) -> dict[str, Any] | None:
    with session_scope(settings.sqlalchemy_url) as session:
        run = crud.get_run(session=session, run_id=run_id)
        return run_view(run) if run is not None else None


async def _run_events(request: Request, settings: Settings, run_id: str) -> AsyncIterator[str]:
    """The run's state now and after every change until it ends (events wake us; the row is the truth)."""
    last: str | None = None
    async with get_event_bus(settings.events_backend_url).subscribe(run_id) as events:
        while True:
            view = await anyio.to_thread.run_sync(_load_view, settings, run_id)
            if view is None:
                return
            text = json.dumps(view, ensure_ascii=False)
            if text != last:
                last = text
                yield f"event: run\ndata: {text}\n\n"
            if view["terminal"] or await request.is_disconnected():
                return
            if await events.get(timeout=1.0) is None:
                yield ": keep-alive\n\n"


@router.get("/runs/{run_id}/events")
def run_events(request: Request, run_id: str, session: SessionDep, settings: SettingsDep,
               user: ConsoleUser) -> Response:
    """Server-sent events with the run's state, until it ends."""
    run = _owned_run(session, user, run_id)
    headers = {**_NO_STORE, "X-Accel-Buffering": "no"}
    return StreamingResponse(_run_events(request, settings, run.id), media_type="text/event-stream", headers=headers)


@router.get("/runs/{run_id}.json")
def run_json(run_id: str, session: SessionDep, user: ConsoleUser) -> JSONResponse:
    """One run as JSON (the scripts' polling fallback)."""
    return JSONResponse(run_view(_owned_run(session, user, run_id)), headers=_NO_STORE)


@router.post("/runs/{run_id}/cancel", dependencies=[CsrfHeaderChecked])
def cancel(run_id: str, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> JSONResponse:
    """Cancel a queued or running run; the worker stops at its next check."""
    run = _owned_run(session, user, run_id)
    cancelled = runs.cancel_run(session=session, settings=settings, run_id=run.id)
    return JSONResponse(run_view(cancelled or run), headers=_NO_STORE)


@router.post("/runs/{run_id}/answer", dependencies=[CsrfHeaderChecked])
def answer(run_id: str, session: SessionDep, settings: SettingsDep, user: ConsoleUser,
           raw: Annotated[Any, Body()] = None) -> JSONResponse:
    """Answer the question a waiting run asks; the run is queued again and resumes on a worker.

    The body is read after the ownership check, so another user's run gives the same 404 as a missing one.
    """
    run = _owned_run(session, user, run_id)
    try:
        answered = answer_by_person(settings=settings, run=run, raw=raw)
    except (InvalidAnswer, Conflict, QueueUnavailable) as exc:
        status = 422 if isinstance(exc, InvalidAnswer) else 409 if isinstance(exc, Conflict) else 503
        return JSONResponse({"errors": [{"path": "(answer)", "message": str(exc)}]}, status_code=status)
    return JSONResponse(run_view(answered), headers=_NO_STORE)


def _filters(session: Session, user: User, app_id: str, status: str) -> tuple[int | None, str | None]:
    app = crud.get_app(session=session, app_id=int(app_id), owner_id=user.id) if app_id.isdigit() else None
    return (app.id if app else None), (status if status in _STATUSES else None)


@router.get("/runs")
def runs_page(request: Request, session: SessionDep, settings: SettingsDep, user: ConsoleUser,
              app_id: str = "", status: str = "") -> Response:
    """Runs of the user's apps, newest first, filtered by app and status; running rows update live."""
    chosen_app, chosen_status = _filters(session, user, app_id, status)
    rows, count = crud.list_runs(session=session, owner_id=user.id, app_id=chosen_app, status=chosen_status, limit=100)
    own_apps, _ = crud.list_apps(session=session, owner_id=user.id, limit=500)
    names = {a.id: a.name for a in own_apps}
    response = render(
        request, "runs.html", user=user, runs=[run_view(r, brief=True) for r in rows], count=count, apps=own_apps, names=names,
        names_json=script_json({str(k): v for k, v in names.items()}), app_id=chosen_app, status=chosen_status,
        statuses=_STATUSES, query=urlencode({k: v for k, v in (("app_id", chosen_app), ("status", chosen_status)) if v}),
        csrf_token=csrf_token(request, settings),
    )
    response.headers.update(_NO_STORE)
    return response


@router.get("/runs.json")
def runs_json(session: SessionDep, user: ConsoleUser, app_id: str = "", status: str = "") -> JSONResponse:
    """The runs list as JSON, for live status updates."""
    chosen_app, chosen_status = _filters(session, user, app_id, status)
    rows, count = crud.list_runs(session=session, owner_id=user.id, app_id=chosen_app, status=chosen_status, limit=100)
    return JSONResponse({"data": [run_view(r, brief=True) for r in rows], "count": count}, headers=_NO_STORE)


def _diagram_of_run(spec: dict | None) -> Diagram | None:
    """The diagram of the spec a run executed (None when it cannot be drawn any more)."""
    try:
        return diagram_of(apps.load_spec_of(spec)) if spec else None
    except (workflows.SpecError, ValueError):
        return None


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """One run: arguments, progress, trace, result or error, and who called."""
    run = _owned_run(session, user, run_id)
    app = crud.get_app(session=session, app_id=run.app_id)
    version = crud.get_version(session=session, version_id=run.version_id) if run.version_id else None
    view = run_view(run)
    response = render(
        request, "run.html", user=user, run=view, app=app, version=version, csrf_token=csrf_token(request, settings),
        run_json=script_json(view), diagram=_diagram_of_run(version.spec if version else app.spec if app else None),
        pretty={k: json.dumps(view[k], indent=2, ensure_ascii=False) for k in ("inputs", "result", "trace")},
    )
    response.headers.update(_NO_STORE)
    return response
