"""Execute a queued run inside a worker: the engine call, progress publishing and the final record."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from sqlmodel import Session, select

import workflows
from backend import crud
from backend.core.db import session_scope
from backend.core.events import get_event_bus
from backend.core.settings import Settings
from backend.models import TERMINAL_STATUSES, Run, RunStatus, apply_transition
from backend.services.apps import load_spec_of

logger = logging.getLogger(__name__)

MAX_TRACE_BYTES = 256 * 1024


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json.loads(json.dumps(dataclasses.asdict(value), default=str))
    return json.loads(json.dumps(value, default=str))


def _trace_of(trace: Any) -> list[dict[str, Any]] | None:
    if not trace:
        return None
    items = [_jsonable(step) for step in trace]
    if len(json.dumps(items)) > MAX_TRACE_BYTES:
        return [*items[:1], {"truncated": True, "steps": len(items)}]
    return items


def _lock_run(session: Session, run_id: str) -> Run | None:
    return session.exec(select(Run).where(Run.id == run_id).with_for_update()).first()


def _finish(settings: Settings, run_id: str, status: RunStatus, **fields: Any) -> RunStatus:
    """Record the end of a run unless it already ended (a cancel won the race); return the final status."""
    with session_scope(settings.sqlalchemy_url) as session:
        run = _lock_run(session, run_id)
        if run is None:
            return status
        if RunStatus(run.status) in TERMINAL_STATUSES:
            session.rollback()
            return RunStatus(run.status)
        apply_transition(run, status)
        for key, value in fields.items():
            setattr(run, key, value)
        crud.save_run(session=session, run=run)
        return status


def execute_run(*, settings: Settings, run_id: str) -> None:
    """Run the workflow of a queued run once; a redelivered or cancelled run is left alone."""
    bus = get_event_bus(settings.events_backend_url)
    with session_scope(settings.sqlalchemy_url) as session:
        run = _lock_run(session, run_id)
        if run is None or RunStatus(run.status) is not RunStatus.queued:
            session.rollback()
            return
        version = crud.get_version(session=session, version_id=run.version_id) if run.version_id else None
        if version is None:
            apply_transition(run, RunStatus.failed)
            run.error = "the app version of this run no longer exists"
            crud.save_run(session=session, run=run)
            bus.publish(run_id, {"type": "end", "status": "failed"})
            return
        apply_transition(run, RunStatus.running)
        run = crud.save_run(session=session, run=run)
        spec_data, inputs = version.spec, dict(run.inputs)

    def on_progress(event: Any) -> None:
        message = getattr(event, "message", None)
        with session_scope(settings.sqlalchemy_url) as s:
            current = crud.get_run(session=s, run_id=run_id)
            if current is not None and RunStatus(current.status) is RunStatus.running:
                current.progress_done, current.progress_total = event.done, event.total
                current.progress_message = message[:500] if message else None
                crud.save_run(session=s, run=current)
        bus.publish(run_id, {"type": "progress", "done": event.done, "total": event.total, "message": message})

    def should_cancel() -> bool:
        with session_scope(settings.sqlalchemy_url) as s:
            current = crud.get_run(session=s, run_id=run_id)
            return current is None or RunStatus(current.status) is RunStatus.cancelled

    try:
        spec = load_spec_of(spec_data)
        result = workflows.execute(spec, inputs, on_progress=on_progress, should_cancel=should_cancel)
    except workflows.RunCancelled:
        final = _finish(settings, run_id, RunStatus.cancelled, error="cancelled by the caller")
    except workflows.NodeError as exc:
        final = _finish(settings, run_id, RunStatus.failed, error=str(exc), trace=_trace_of(getattr(exc, "trace", None)))
    except workflows.WorkflowError as exc:
        final = _finish(settings, run_id, RunStatus.failed, error=str(exc))
    except Exception:
        logger.exception("run %s crashed", run_id)
        final = _finish(settings, run_id, RunStatus.failed, error=f"internal error while running the app (run {run_id})")
    else:
        final = _finish(
            settings, run_id, RunStatus.succeeded, result=_jsonable(result.outputs), trace=_trace_of(result.trace)
        )
    bus.publish(run_id, {"type": "end", "status": final.value})
