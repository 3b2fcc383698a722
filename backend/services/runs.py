"""Start, follow and cancel runs from the API side."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import anyio
from sqlmodel import Session

from backend import crud
from backend.core import metrics, shutdown
from backend.core.db import UNAVAILABLE_ERRORS, read_scope, session_scope
from backend.core.events import get_event_bus
from backend.core.queue import get_celery
from backend.core.settings import Settings
from backend.models import (
    TERMINAL_STATUSES,
    App,
    AppVersion,
    Run,
    RunPublic,
    RunStatus,
    apply_transition,
    as_utc,
    new_run_id,
    queued_run,
)
from backend.services.errors import CallInterrupted, Conflict, QueueUnavailable
from backend.services.lost_runs import mark_worker_lost_if_orphaned
from backend.services.queueing import NO_WORKER, enqueue, fail_unstarted
from backend.services.workers import any_worker_alive, local_queue_owner

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str | None], Awaitable[None]]
LogCallback = Callable[[str, str, str], Awaitable[None]]  # level, message, the step that logged it
# A parked run's question (services.questions); True stops following: the run is returned waiting_for_input
QuestionCallback = Callable[[dict[str, Any]], Awaitable[bool]]


def new_run(
    *,
    app: App,
    version: AppVersion,
    inputs: dict[str, Any],
    endpoint_id: int | None = None,
    source: str = "mcp",
    client_name: str | None = None,
    client_version: str | None = None,
    record: dict[str, Any] | None = None,
) -> Run:
    """A queued run of `version` with validated inputs, not yet recorded (crud.create_run records it, or
    queueing.record_and_enqueue with its queueing); `record` sets further Run fields (how the call came in)."""
    run_id = new_run_id()
    columns = {
        "id": run_id,
        "task_id": run_id,
        "app_id": app.id,
        "version_id": version.id,
        "endpoint_id": endpoint_id,
        "source": source,
        "inputs": inputs,
        "client_name": (client_name or None) and client_name[:200],
        "client_version": (client_version or None) and client_version[:100],
        "worker": local_queue_owner(),  # embedded mode: the worker whose in-memory queue will hold it
    }
    return queued_run(**{**columns, **(record or {})})


def cancel_run(*, session: Session, settings: Settings, run_id: str, reason: str = "cancelled by the caller") -> Run | None:
    """Mark a run cancelled (if it has not ended) and revoke its task; the worker stops at its next check."""
    run = crud.get_run(session=session, run_id=run_id)
    if run is None:
        return None
    if RunStatus(run.status) not in TERMINAL_STATUSES:
        apply_transition(run, RunStatus.cancelled)
        run.error = reason
        run = crud.save_run(session=session, run=run)
        try:
            get_celery(settings.broker_url, settings.queue).control.revoke(run.task_id)
        except Exception:
            logger.warning("could not broadcast the revoke of run %s", run_id)
        get_event_bus(settings.events_backend_url).publish(run_id, {"type": "end", "status": "cancelled"})
    return run


def _load(settings: Settings, run_id: str) -> Run | None:
    with read_scope(settings.sqlalchemy_url) as session:
        return crud.get_run(session=session, run_id=run_id)


def _fail_queued(settings: Settings, run_id: str, reason: str) -> bool:
    with session_scope(settings.sqlalchemy_url) as session:
        return fail_unstarted(session=session, run_id=run_id, reason=reason)


def _cancel(settings: Settings, run_id: str) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        cancel_run(session=session, settings=settings, run_id=run_id)


PROGRESS_CATCH_UP_SECONDS = 5.0
POLL_SECONDS = 1.0
_POLL_BATCH = 500  # ids per query, well under SQLite's bound-parameter limit
_POLLED = {"type": "polled"}


class RunWatcher:
    """The database safety net under the event bus, shared by every waiting call of one process.

    A call normally ends on the bus's "end" event. If that event is lost (a bus outage, a worker
    killed between its last write and its publish), the run's row still tells the truth, so every
    POLL_SECONDS one query reads the status of all runs this process waits on, and each waiting call
    whose run has ended (or vanished) is woken. Waiting calls read the last polled status for the
    worker-lost check instead of each reloading its run: 1,000 waiting calls cost one query a second,
    not 1,000.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._waiting: dict[str, list[Any]] = {}
        self._statuses: dict[str, RunStatus] = {}
        self._task: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def watch(self, run_id: str, subscription: Any) -> Iterator[None]:
        """Poll `run_id` while the block runs; wake `subscription` (push a "polled" event) once it has ended."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._poll_forever())
        self._waiting.setdefault(run_id, []).append(subscription)
        try:
            yield
        finally:
            subscriptions = self._waiting.get(run_id, [])
            if subscription in subscriptions:
                subscriptions.remove(subscription)
            if not subscriptions:
                self._waiting.pop(run_id, None)
                self._statuses.pop(run_id, None)

    def last_status(self, run_id: str) -> RunStatus | None:
        """The status seen by the last poll, or None before the first poll of this run."""
        return self._statuses.get(run_id)

    def _query(self, run_ids: Sequence[str]) -> dict[str, RunStatus]:
        found: dict[str, RunStatus] = {}
        with read_scope(self._url) as session:
            for start in range(0, len(run_ids), _POLL_BATCH):
                found.update(crud.get_run_statuses(session=session, run_ids=run_ids[start : start + _POLL_BATCH]))
        return found

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            run_ids = list(self._waiting)
            if not run_ids:
                continue
            try:
                found = await anyio.to_thread.run_sync(self._query, run_ids)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the safety net; the next poll retries
                logger.warning("polling %d waiting runs failed; retrying in %g s", len(run_ids), POLL_SECONDS)
                continue
            for run_id in run_ids:
                subscriptions = self._waiting.get(run_id)
                if not subscriptions:
                    continue
                status = found.get(run_id)
                if status is not None:
                    self._statuses[run_id] = status
                if status is None or status in TERMINAL_STATUSES:
                    for subscription in subscriptions:
                        subscription.push(_POLLED)


@lru_cache(maxsize=8)
def get_run_watcher(url: str) -> RunWatcher:
    """The watcher for a database URL, one per process."""
    return RunWatcher(url)


async def dispatch_and_follow(
    *,
    settings: Settings,
    run: Run,
    on_progress: ProgressCallback | None = None,
    on_log: LogCallback | None = None,
    cancel_when_abandoned: bool = True,
    outcome_only: bool = False,
    on_question: QuestionCallback | None = None,
    start: Callable[[], object] | None = None,
) -> Run:
    """Queue a created run and relay its progress until it ends; if the caller goes away, cancel it.

    The subscription opens before the task is queued so no event can be missed; the process's
    RunWatcher polls the database each second as well (one query for all waiting calls), so a lost
    event costs at most that second, never a hung call. A running call
    quiet for `worker_lost_after_seconds` has the workers asked whether one still runs it; if none
    does, the run is failed as "worker lost". A caller that goes away cancels the run unless
    `cancel_when_abandoned` is false (the run then finishes and keeps its result). With `outcome_only`
    the returned run is only sure to have its final status, result and error: when the worker's "end"
    event carries them, the row is not read back. Every call ends with one metrics update and one log line.
    A run that parks for the caller's answer is handed to `on_question` (which may stop the following); `start`
    replaces the queueing (a resumed run is queued by the answer, services.questions).
    """
    # an exception below means the caller went away
    started, status = time.monotonic(), "cancelled" if cancel_when_abandoned else "abandoned"
    try:
        final = await _dispatch_and_follow(
            settings=settings,
            run=run,
            on_progress=on_progress,
            on_log=on_log,
            cancel_when_abandoned=cancel_when_abandoned,
            outcome_only=outcome_only,
            on_question=on_question,
            start=start or (lambda: enqueue(settings, run)),
        )
        status = RunStatus(final.status).value
        return final
    except (QueueUnavailable, Conflict):
        status = "failed"
        raise
    except CallInterrupted:
        status = "interrupted"
        raise
    finally:
        seconds = time.monotonic() - started
        metrics.observe_call(run.app_id, status, seconds)
        fields = {"run_id": run.id, "app_id": run.app_id, "status": status, "duration_ms": round(seconds * 1000, 1)}
        logger.info("call finished run=%s app=%s status=%s duration_ms=%.1f", *fields.values(), extra=fields)


async def _dispatch_and_follow(
    *, settings: Settings, run: Run, on_progress: ProgressCallback | None, on_log: LogCallback | None,
    cancel_when_abandoned: bool, outcome_only: bool, on_question: QuestionCallback | None, start: Callable[[], object]
) -> Run:
    bus = get_event_bus(settings.events_backend_url)
    watcher = get_run_watcher(settings.sqlalchemy_url)
    try:
        async with bus.subscribe(run.id) as events:  # before the start, so no event is missed
            await anyio.to_thread.run_sync(start)
            with watcher.watch(run.id, events):  # after it: the start may be what records the run
                return await _follow(settings, run, events, watcher, on_progress, on_log, outcome_only, on_question)
    except (QueueUnavailable, CallInterrupted, Conflict):  # nothing started, or nothing to resume
        raise
    except BaseException:
        # the caller went away; a stopping server leaves the run to its worker
        if cancel_when_abandoned and not shutdown.draining():
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_cancel, settings, run.id)
        raise


async def _follow(
    settings: Settings,
    run: Run,
    events: Any,
    watcher: RunWatcher,
    on_progress: ProgressCallback | None,
    on_log: LogCallback | None,
    outcome_only: bool,
    on_question: QuestionCallback | None = None,
) -> Run:
    deadline = anyio.current_time() + settings.call_timeout_seconds
    lost_after = 0 if settings.is_embedded_broker else settings.worker_lost_after_seconds
    last_event = anyio.current_time()
    relayed = 0  # progress only ever grows for the client, also while a run is re-run from the start
    catch_up_until: float | None = None
    asked: str | None = None  # the id of the last question relayed to the caller
    watched_status: RunStatus | None = None
    while True:
        if shutdown.must_close_calls():
            raise CallInterrupted(run.id)
        event = await events.get(timeout=POLL_SECONDS)
        kind = event.get("type") if event is not None else None
        last = event.get("progress") if kind == "end" else None  # the run's last step comes with its end
        if isinstance(last, dict) and on_progress is not None and int(last["done"]) > relayed:
            relayed = int(last["done"])
            await on_progress(relayed, int(last["total"]), last.get("message"))
        if kind == "end" and outcome_only and isinstance(event.get("outcome"), dict):
            # the worker recorded this outcome and sent it along: no need to read the row back
            outcome = event["outcome"]
            run.status, run.result, run.error = RunStatus(event["status"]), outcome["result"], outcome["error"]
            return run
        if kind == "end" or kind == "polled":  # "polled": the watcher saw the run ended (or vanished)
            try:
                current = await anyio.to_thread.run_sync(_load, settings, run.id)
            except UNAVAILABLE_ERRORS:
                if anyio.current_time() > deadline:
                    raise
                continue  # the database is restarting: read the row once it is back
            # Ended, but progress events may still be on their way (a busy bus lags the database):
            # relay them first, for at most PROGRESS_CATCH_UP_SECONDS.
            behind = kind == "polled" and current is not None and on_progress is not None and relayed < current.progress_done
            catch_up_until = catch_up_until or anyio.current_time() + PROGRESS_CATCH_UP_SECONDS
            if not behind or anyio.current_time() > catch_up_until:
                return current or run
            continue
        if kind == "question":  # the run parked: it waits (no worker) for as long as its question allows
            last_event = anyio.current_time()
            question = event.get("question") or {}
            if question.get("id") == asked:
                continue  # already asked (found by the watcher before its event came)
            asked = question.get("id")
            if on_question is not None and await on_question(question):
                run.status, run.question = RunStatus.waiting_for_input, question
                return run
            deadline = max(deadline, last_event + float(question.get("timeout") or 0) + settings.call_timeout_seconds)
            continue
        if kind == "log":
            last_event = anyio.current_time()
            if on_log is not None:
                await on_log(str(event.get("level")), str(event.get("message")), str(event.get("step_id")))
            continue
        if kind == "progress":
            last_event = anyio.current_time()
            if on_progress is not None and int(event["done"]) > relayed:
                relayed = int(event["done"])
                await on_progress(relayed, int(event["total"]), event.get("message"))
            continue
        if event is not None:
            last_event = anyio.current_time()
            continue
        quiet = anyio.current_time() - last_event
        status = watcher.last_status(run.id)
        if status is RunStatus.waiting_for_input and status is not watched_status:
            # the watcher saw the run park: if its "question" event was lost, ask from the row
            missed = await anyio.to_thread.run_sync(_waiting_question, settings, run.id, asked)
            if missed is not None:
                events.push({"type": "question", "question": missed})
        watched_status = status
        if watcher.last_status(run.id) is RunStatus.queued and not await anyio.to_thread.run_sync(any_worker_alive, settings):
            # every worker died while the run waited for one: say so now rather than at the call's time limit
            if await anyio.to_thread.run_sync(_fail_queued, settings, run.id, NO_WORKER):
                return await anyio.to_thread.run_sync(_load, settings, run.id) or run
        if lost_after and watcher.last_status(run.id) is RunStatus.running and quiet > lost_after:
            last_event = anyio.current_time()
            current = await anyio.to_thread.run_sync(_load, settings, run.id)  # a re-run has a new task id
            if current is not None and await anyio.to_thread.run_sync(mark_worker_lost_if_orphaned, settings, current):
                return await anyio.to_thread.run_sync(_load, settings, run.id) or current
        if anyio.current_time() > deadline:
            await anyio.to_thread.run_sync(_cancel, settings, run.id)
            final = await anyio.to_thread.run_sync(_load, settings, run.id)
            if final is not None and RunStatus(final.status) is RunStatus.cancelled:
                final.error = f"the run took longer than {settings.call_timeout_seconds:g} s and was stopped"
            return final or run


def _waiting_question(settings: Settings, run_id: str, asked: str | None) -> dict[str, Any] | None:
    """The question a run waits on, unless it is `asked` (already relayed) or the run no longer waits."""
    with session_scope(settings.sqlalchemy_url) as session:
        run = session.get(Run, run_id)
        if run is None or RunStatus(run.status) is not RunStatus.waiting_for_input or not run.question:
            return None
        return None if run.question.get("id") == asked else dict(run.question)


def run_public(run: Run) -> RunPublic:
    """The API view of a run."""
    started, ended = as_utc(run.started_at), as_utc(run.ended_at)
    duration = (ended - started).total_seconds() * 1000 if started and ended else None
    return RunPublic(
        id=run.id,
        app_id=run.app_id,
        version_id=run.version_id,
        source=run.source,
        status=RunStatus(run.status),
        inputs=run.inputs,
        progress_done=run.progress_done,
        progress_total=run.progress_total,
        progress_message=run.progress_message,
        result=run.result,
        error=run.error,
        trace=run.trace,
        client_name=run.client_name,
        client_version=run.client_version,
        created_at=run.created_at,
        started_at=run.started_at,
        ended_at=run.ended_at,
        duration_ms=duration,
        worker=run.worker,
        purpose=run.purpose,
        question=run.question,
        waiting_until=run.waiting_until,
    )
