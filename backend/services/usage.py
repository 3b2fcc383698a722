"""The record of calls: what a run keeps of its arguments and progress, usage figures, and retention."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from backend import crud
from backend.core.settings import Settings
from backend.models import Run, RunPublic, RunStatus, as_utc, utcnow
from backend.services.runs import run_public

REDACTED = "[redacted]"
MAX_TRAIL = 500
_MAX_STRING = 2000
# Argument names that hold credentials; their values are never recorded.
_SECRET_NAME = re.compile(r"(?i)(pass(word|phrase|wd)?|secret|token|api[_-]?key|apikey|auth|credential|private[_-]?key|cookie)")
PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7)}


def _redact_names(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_NAME.search(str(k)) else _redact_names(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_names(v) for v in value]
    return value


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _MAX_STRING:
        return value[:_MAX_STRING] + f"… ({len(value)} characters)"
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    return value


def recorded_arguments(*, settings: Settings, inputs: dict[str, Any]) -> dict[str, Any]:
    """The arguments as the run's record keeps them: credentials redacted, long values cut, size capped.

    Redacted: any field (at any depth) whose name says it holds a credential. Values are never compared with
    the owner's stored secrets: a caller could then send guesses and read the record (a platform client can)
    to see which one came back redacted. The run itself still gets the real inputs.
    """
    kept = _shorten(_redact_names(inputs))
    text = json.dumps(kept, ensure_ascii=False, default=str)
    limit = settings.max_recorded_argument_bytes
    if len(text.encode()) > limit:
        return {"_truncated": True, "_bytes": len(text.encode()), "_preview": text.encode()[: limit - 200].decode(errors="ignore")}
    return kept


def progress_entry(done: int, total: int, message: str | None) -> dict[str, Any]:
    """One event of a run's progress trail, stamped now."""
    return {"at": utcnow().isoformat(), "done": done, "total": total, "message": message[:500] if message else None}


def append_progress(run: Run, done: int, total: int, message: str | None) -> None:
    """Add one progress event to the run's trail (the first MAX_TRAIL events are kept)."""
    trail = list(run.progress_trail or [])
    if len(trail) < MAX_TRAIL:
        trail.append(progress_entry(done, total, message))
        run.progress_trail = trail


def run_record(run: Run) -> RunPublic:
    """The API view of a run with the recorded (redacted) arguments and how the call came in."""
    return run_public(run).model_copy(
        update={
            "inputs": run.arguments if run.arguments is not None else run.inputs,
            "endpoint_id": run.endpoint_id,
            "toolkit_id": run.toolkit_id,
            "token_name": run.token_name,
            "access": run.access,
            "progress_trail": run.progress_trail,
        }
    )


def _percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * (len(sorted_values) - 1)))))
    return round(sorted_values[index], 1)


def app_usage(*, session: Session, app_id: int) -> dict[str, Any]:
    """Calls, errors and p50/p95 duration (ms) of an app's runs over the last day and week."""
    now = utcnow()
    figures: dict[str, Any] = {}
    for period, span in PERIODS.items():
        since = now - span
        _, calls = crud.list_runs(session=session, app_id=app_id, since=since, limit=1)
        rows = crud.list_finished_runs(session=session, app_id=app_id, since=since)
        durations = sorted(
            (as_utc(ended) - as_utc(started)).total_seconds() * 1000  # type: ignore[operator]
            for _, started, ended in rows
            if started is not None and ended is not None
        )
        by_status = {s.value: 0 for s in (RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled)}
        for status, _, _ in rows:
            by_status[status] = by_status.get(status, 0) + 1
        figures[period] = {
            "calls": calls,
            "succeeded": by_status["succeeded"],
            "errors": by_status["failed"],
            "cancelled": by_status["cancelled"],
            "p50_ms": _percentile(durations, 0.5),
            "p95_ms": _percentile(durations, 0.95),
        }
    return figures


def purge_old_runs(*, session: Session, settings: Settings) -> int:
    """Delete ended runs older than the retention period; return how many went (0 when retention is off)."""
    if settings.run_retention_days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=settings.run_retention_days)
    total = 0
    while True:
        deleted = crud.delete_runs_before(session=session, cutoff=cutoff)
        total += deleted
        if deleted == 0:
            return total
