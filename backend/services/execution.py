"""Execute a queued run inside a worker: claim it, hand it to a sandbox process, publish progress, record the end.

The worker's thread does the bookkeeping (database, progress bus); the workflow itself runs in a sandbox
process (backend.sandbox) under the run's CPU, memory and wall-clock limits, so nothing a template does
reaches the worker or the API process.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import workflows
from backend import crud
from backend.core import statements
from backend.core.db import UNAVAILABLE_ERRORS, read_scope, retry_on_disconnect, session_scope
from backend.core.events import get_event_bus
from backend.core.later import Deferred, later
from backend.core.settings import Settings
from backend.core.statements import statement_scope
from backend.models import AppVersion, RunStatus
from backend.sandbox import Hooks, Job, Limits, Outcome, SandboxPool, SpecSource, SubApp, SubAppNotFound
from backend.services import secrets as user_secrets
from backend.services.apps import CONSOLE_SOURCE, load_spec_of, published_version, resolve_app, version_spec
from backend.services.errors import ServiceError
from backend.services.purposes import spec_for_purpose
from backend.services.questions import park_run, question_event
from backend.services.run_files import split_content, stage_run_files
from backend.services.usage import MAX_TRAIL, progress_entry
from workflows.secret_flow import Redactor, reads_secrets

logger = logging.getLogger(__name__)

MAX_TRACE_BYTES = 256 * 1024
# A run that ends while the database is restarting keeps trying to record its end this long.
FINISH_RETRY_SECONDS = 120.0


def _trace_of(trace: Any) -> list[dict[str, Any]] | None:
    if not trace:
        return None
    items = list(trace)
    if len(json.dumps(items)) > MAX_TRACE_BYTES:
        return [*items[:1], {"truncated": True, "steps": len(items)}]
    return items


def _finish(settings: Settings, run_id: str, status: RunStatus, **fields: Any) -> tuple[RunStatus, bool]:
    """Record the end of a run, retrying while the database is unreachable (bounded).

    Returns the final status and whether this write made it (False when a cancel had already ended the run).
    """
    deadline = time.monotonic() + FINISH_RETRY_SECONDS
    while True:
        try:
            return _record_end(settings, run_id, status, **fields)
        except UNAVAILABLE_ERRORS:
            if time.monotonic() > deadline:
                raise
            logger.warning("run %s: the database is unavailable; retrying to record its end", run_id)
            time.sleep(1.0)


def _record_end(settings: Settings, run_id: str, status: RunStatus, **fields: Any) -> tuple[RunStatus, bool]:
    """Record the end of a run unless it already ended (a cancel won the race); see _finish.

    One conditional UPDATE (crud.end_run), a transaction of its own, or with the run's files in one transaction.
    """
    files = fields.pop("files", None)
    with (session_scope if files else statement_scope)(settings.sqlalchemy_url) as session:
        if not crud.end_run(session=session, run_id=run_id, to=status, **fields):
            current = crud.get_run_status(session=statements.orm(session), run_id=run_id)
            session.rollback()
            return current or status, False
        if files:
            stage_run_files(session=session, run_id=run_id, files=files)
        session.commit()
        return status, True


# Progress reaches the caller over the event bus; the run row only mirrors it for the runs page and the
# REST API, so it is written at most this often while the run lasts, and always with the final state.
PROGRESS_SAVE_SECONDS = 1.0
# How stale the worker's view of "was this run cancelled?" may be. The engine asks between steps and
# every `cancel_poll_interval` while it waits; a fast run would otherwise read its row once per step.
# A cancel that lands in between still wins: `_finish` never overwrites a terminal status.
CANCEL_CHECK_SECONDS = 0.2


class _ProgressRecorder:
    """Keeps a run's latest progress and its trail; writes them to the run row at most every PROGRESS_SAVE_SECONDS.

    An event that comes too soon after the last write is written when the interval is up (`later`), so a run
    that then waits in a long step still shows its latest progress; a run that ends first writes it only once,
    with its final state (`close`).
    """

    def __init__(self, settings: Settings, run_id: str) -> None:
        self._settings, self._run_id = settings, run_id
        self._saved_at = time.monotonic()
        self._lock = threading.Lock()
        self._pending: Deferred | None = None  # a write due later (backend.core.later)
        self._closed = False
        self.done, self.total, self.message = 0, 0, None
        self.trail: list[dict[str, Any]] = []

    def note(self, done: int, total: int, message: str | None) -> None:
        """Note one progress event, to be written with the next write (the final record, when it is the last)."""
        with self._lock:
            self.done, self.total, self.message = done, total, message[:500] if message else None
            if len(self.trail) < MAX_TRAIL:
                self.trail.append(progress_entry(done, total, message))

    def record(self, done: int, total: int, message: str | None) -> None:
        """Note one progress event; persist it now if the last write is old enough, else when it is."""
        self.note(done, total, message)
        with self._lock:
            wait = PROGRESS_SAVE_SECONDS - (time.monotonic() - self._saved_at)
            if wait > 0:
                if self._pending is None and not self._closed:
                    self._pending = later.call_in(wait, self._save)
                return
        self._save()

    def close(self) -> dict[str, Any]:
        """The run has ended: no more writes of its own; returns the fields for the final record."""
        with self._lock:
            self._closed = True
            if self._pending is not None:  # the final record has it: the write still due is not needed
                self._pending.cancel()
            return self.fields()

    def _save(self) -> None:
        with self._lock:
            self._pending = None
            if self._closed:
                return
            self._saved_at = time.monotonic()
            fields = self.fields()
        if not fields:
            return
        try:
            with session_scope(self._settings.sqlalchemy_url) as session:
                crud.update_run_progress(session=session, run_id=self._run_id, **fields)
        except UNAVAILABLE_ERRORS:  # the database is restarting: the event still reached the caller
            logger.warning("run %s: progress not recorded, the database is unavailable", self._run_id)

    def fields(self) -> dict[str, Any]:
        """The progress columns and trail, for the final write."""
        if not self.total:
            return {}
        return {
            "progress_done": self.done,
            "progress_total": self.total,
            "progress_message": self.message,
            "progress_trail": list(self.trail),
        }


class _CancelCheck:
    """The engine's ``should_cancel``: reads the run's status at most every CANCEL_CHECK_SECONDS."""

    def __init__(self, settings: Settings, run_id: str) -> None:
        self._settings, self._run_id = settings, run_id
        self._checked_at = time.monotonic()
        self._cancelled = False

    def __call__(self) -> bool:
        if self._cancelled or time.monotonic() - self._checked_at < CANCEL_CHECK_SECONDS:
            return self._cancelled
        self._checked_at = time.monotonic()
        try:
            with read_scope(self._settings.sqlalchemy_url) as session:
                status = crud.get_run_status(session=session, run_id=self._run_id)
        except UNAVAILABLE_ERRORS:  # the database is restarting: keep going, ask again at the next check
            return False
        self._cancelled = status is None or status is RunStatus.cancelled
        return self._cancelled


def _spec_source(
    spec: workflows.AppSpec, version: AppVersion | crud.VersionRef | None, purpose: str | None = None
) -> SpecSource:
    """A published version's spec by a key sandbox processes cache it under; a draft's is sent each time.

    A run rendering a prompt runs a spec derived from the version's, cached under the purpose too.
    """
    key = f"{version.id}:{version.created_at.isoformat()}" if version is not None else None
    if key is not None and purpose is not None:
        key = f"{key}:{purpose}"
    return SpecSource(key=key, document=lambda: workflows.spec_to_dict(spec))


def _sub_app_finder(settings: Settings, owner_id: int) -> Callable[[str], SubApp]:
    """How a run's `sub_app` steps find the app they call: by id or unique name, among the same owner's apps.

    Other owners' apps are invisible (the same "not found" as a missing app); the called app runs in the
    calling run's sandbox process, under its limits, with its secrets and allow-list.
    """

    def find(ref: str) -> SubApp:
        with session_scope(settings.sqlalchemy_url) as session:
            try:
                app = resolve_app(session=session, ref=ref, owner_id=owner_id)
            except ServiceError as exc:
                raise SubAppNotFound(str(exc)) from None
            version = published_version(session=session, app=app)
            if version is None:
                raise SubAppNotFound(f"app {ref!r} is not published; publish it first")
            return SubApp(name=app.name, app_id=app.id, spec=_spec_source(version_spec(version), version))

    return find


def _no_sub_apps(ref: str) -> SubApp:
    raise SubAppNotFound("this run cannot call other apps")


def run_limits(settings: Settings, spec: workflows.AppSpec) -> Limits:
    """The server's limits for one run, lowered where the app asks for less."""
    asked = spec.limits
    return Limits(
        cpu_seconds=settings.run_cpu_seconds, memory_mb=settings.run_memory_mb, wall_seconds=settings.run_timeout_seconds
    ).narrowed(
        cpu_seconds=asked.cpu_seconds if asked else None,
        memory_mb=asked.memory_mb if asked else None,
        wall_seconds=spec.time_limit,
    )


_SECRET_READS: dict[tuple[int, Any], bool] = {}


def _reads_secrets(version: AppVersion | crud.VersionRef, spec: workflows.AppSpec) -> bool:
    """Whether runs of a published version may read secrets (workflows.secret_flow), once per version and process.

    Keyed by id and creation time, as version_spec is; a version that reads none skips the secrets query.
    """
    key = (version.id, version.created_at)
    found = _SECRET_READS.get(key)
    if found is None:
        if len(_SECRET_READS) >= 1024:
            _SECRET_READS.clear()
        found = _SECRET_READS[key] = reads_secrets(spec)
    return found


@lru_cache(maxsize=4)
def _pool(capacity: int, memory_mb: int) -> SandboxPool:
    return SandboxPool(capacity=capacity, memory_mb=memory_mb)


def sandbox_pool(settings: Settings) -> SandboxPool:
    """This process's pool of sandbox processes (one per run slot of its worker)."""
    return _pool(settings.worker_concurrency, settings.run_memory_mb)


@dataclass(frozen=True)
class _Taken:
    """What a worker needs of a run it has claimed, read just before the claim."""

    version: crud.VersionRef | None
    published: workflows.AppSpec | None  # the published version's parsed spec (cached per process)
    draft: Any  # a console test run's draft document, else None
    owner_id: int | None
    secrets: dict[str, str]
    inputs: dict[str, Any]
    purpose: str | None
    call_stack: list[str]
    resume: Any
    answers: dict[str, Any]


def _take(settings: Settings, run_id: str, worker: str | None) -> _Taken | None:
    """Read what running a queued run needs, then claim it; None when there is nothing to run.

    One query reads the run with its app and version; one conditional UPDATE then takes it, a transaction of its
    own (statement_scope): a redelivered, cancelled or missing run is left alone, and of two workers handed the
    same run only one takes it. A run whose version has gone is failed here. The claim is the only write and the
    last statement, so an attempt that found its pooled connection dead changed nothing and is made again on a
    fresh one (`retry_on_disconnect`). Should the claim have landed and only its answer been lost, the second
    attempt finds the run taken and leaves it, and the API process following the call fails it as "worker lost"
    when no worker says it runs it.
    """
    with statement_scope(settings.sqlalchemy_url) as db:
        run = crud.get_queued_run(session=db, run_id=run_id)
        if run is None:
            return None
        found = run.app  # plain columns: the spec documents are read only when needed (a cached parse needs none)
        version = found.version if found is not None else None
        # A console test run has no version: it runs the app's draft as it is when the worker picks it up.
        console = version is None and run.source == CONSOLE_SOURCE and found is not None
        draft = crud.get_draft_document(session=db.session, app_id=run.app_id) if console else None
        if version is None and draft is None:
            crud.end_run(session=db, run_id=run_id, to=RunStatus.failed,
                         error="the app version of this run no longer exists")
            get_event_bus(settings.events_backend_url).publish(run_id, {"type": "end", "status": "failed"})
            return None
        owner_id = found.owner_id if found is not None else None
        published = None if version is None else version_spec(  # parsed once per worker process
            version, lambda: crud.get_version_document(session=db.session, version_id=version.id))
        wanted = owner_id is not None and (version is None or _reads_secrets(version, published))
        secrets = user_secrets.secret_values(session=db.session, settings=settings, owner_id=owner_id) if wanted else {}
        if not crud.claim_run(session=db, run_id=run_id, worker=worker):
            return None
        root = found.name if found is not None else str(run.app_id)
        return _Taken(
            version=version, published=published, draft=draft, owner_id=owner_id, secrets=secrets,
            inputs=dict(run.inputs), purpose=run.purpose,
            # apps above this run (when another run called it over MCP), then its own
            call_stack=[*["(calling app)"] * run.call_depth, root],
            resume=run.parked, answers=dict(run.answers or {}),  # a parked run resumes from its saved state
        )


def execute_run(*, settings: Settings, run_id: str, worker: str | None = None) -> None:
    """Run the workflow of a queued run once, in a sandbox process; a redelivered or cancelled run is left alone.

    `worker` (the Celery node name) is recorded on the run: the sweep ends it if that worker dies.
    """
    taken = retry_on_disconnect(lambda: _take(settings, run_id, worker))
    if taken is None:
        return
    bus = get_event_bus(settings.events_backend_url)
    version, published, secrets, owner_id = taken.version, taken.published, taken.secrets, taken.owner_id
    log_redact = Redactor(secrets.values())  # for our log only: what the caller sees never depends on it
    progress = _ProgressRecorder(settings, run_id)

    def on_progress(done: int, total: int, message: str | None) -> None:
        bus.publish(run_id, {"type": "progress", **_progress_fields(done, total, message)})
        progress.record(done, total, message)

    def on_log(level: str, message: str, step_id: str) -> None:
        bus.publish(run_id, {"type": "log", "level": level, "message": message, "step_id": step_id})

    try:
        spec = spec_for_purpose(published or load_spec_of(taken.draft), taken.purpose)
    except workflows.WorkflowError as exc:
        bus.publish(run_id, _end(settings, run_id, RunStatus.failed, error=str(exc), **progress.close()))
        return
    job = Job(run_id=run_id, spec=_spec_source(spec, version, taken.purpose), inputs=taken.inputs, secrets=dict(secrets),
              http_allow=list(settings.http_allow), call_stack=taken.call_stack, timeout=settings.run_timeout_seconds,
              resume=taken.resume, answers=taken.answers)
    hooks = Hooks(on_progress=on_progress, on_log=on_log, should_cancel=_CancelCheck(settings, run_id),
                  find_app=_sub_app_finder(settings, owner_id) if owner_id else _no_sub_apps)
    try:
        outcome = sandbox_pool(settings).run(job, run_limits(settings, spec), hooks)
    except Exception:
        logger.exception("run %s: no sandbox process could run it", run_id)
        outcome = Outcome("failed", error="internal error while running the app")
    if outcome.progress is not None:  # the last step, which the sandbox process sent with the outcome
        progress.note(*outcome.progress)
    event = _record_outcome(settings, run_id, spec, outcome, log_redact, progress)
    if outcome.progress is not None:
        last = _progress_fields(*outcome.progress)
        if event["type"] == "end":  # one event: the caller relays the step, then the end
            event["progress"] = last
        else:
            bus.publish(run_id, {"type": "progress", **last})
    bus.publish(run_id, event)


def _progress_fields(done: int, total: int, message: str | None) -> dict[str, Any]:
    return {"done": done, "total": total, "message": message}


def _record_outcome(settings: Settings, run_id: str, spec: workflows.AppSpec, outcome: Outcome,
                    log_redact: Redactor, progress: _ProgressRecorder) -> dict[str, Any]:
    """Record how the sandbox says the run ended; return the "end" event."""
    if outcome.crashed:
        logger.error("run %s crashed: %s", run_id, log_redact.text(outcome.detail or "no detail"))
    elif outcome.limit is not None:
        logger.warning("run %s stopped at its %s limit: %s", run_id, outcome.limit, outcome.error)
    if outcome.status == "waiting":
        return _park(settings, run_id, outcome, progress)
    trace = _trace_of(outcome.trace)
    if outcome.status == "succeeded":
        result, files = split_content(run_id, spec, outcome.outputs or {})  # bytes are stored apart
        return _end(settings, run_id, RunStatus.succeeded, result=result, files=files, trace=trace,
                    **progress.close())
    if outcome.status == "cancelled":
        return _end(settings, run_id, RunStatus.cancelled, error="cancelled by the caller", **progress.close())
    fields = {"trace": trace} if trace else {}
    return _end(settings, run_id, RunStatus.failed, error=outcome.error or "the run failed", **fields,
                **progress.close())


def _park(settings: Settings, run_id: str, outcome: Outcome, progress: _ProgressRecorder) -> dict[str, Any]:
    """Record that the run waits for the caller (services.questions); return the "question" event.

    The worker's slot is free once this returns. A cancel that ended the run first wins: its "end" is resent.
    """
    parked = dict(outcome.parked or {})
    fields = {"trace": _trace_of(parked.get("trace")), **progress.close()}
    with session_scope(settings.sqlalchemy_url) as session:
        run = park_run(session=session, run_id=run_id, question=outcome.question or {}, parked=parked, **fields)
        if run is None:
            status = crud.get_run_status(session=session, run_id=run_id)
            return {"type": "end", "status": (status or RunStatus.cancelled).value}
        return question_event(run)


def _end(settings: Settings, run_id: str, status: RunStatus, **fields: Any) -> dict[str, Any]:
    """Record the end of a run (_finish) and return the "end" event to publish, with the outcome when this
    write recorded it (not when a cancel had ended the run first)."""
    final, recorded = _finish(settings, run_id, status, **fields)
    event: dict[str, Any] = {"type": "end", "status": final.value}
    # The event carries the result and error, so a caller that needs no more (an MCP tools/call) does not read the
    # row back: always on the in-process bus, up to the bus's size on Redis (a larger outcome is read from the row).
    outcome = {"result": fields.get("result"), "error": fields.get("error")}
    limit = get_event_bus(settings.events_backend_url).max_event_bytes
    if recorded and (limit is None or len(json.dumps(outcome, default=str)) <= limit):
        event["outcome"] = outcome
    return event
