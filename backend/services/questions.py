"""Runs that wait for the caller: parked by a worker, answered through any API process, expired by the sweep.

A worker whose run reaches a step that asks the caller (``ask``, ``llm`` with ``provider: client``; see
``workflows.parking``) records the run as ``waiting_for_input`` with the question, the run's saved state and a
deadline, publishes a "question" event on the run's channel, and frees its slot. Whoever gets the answer (an
API process following the call, the console) calls ``answer_run``: the answer is stored with the run and the run
is queued again; any worker resumes it from its saved state. ``expire_waiting_runs`` (the maintenance beat)
fails the runs whose deadline passed, with a message saying which question went unanswered.

A question carries an ``id`` (the step id and how many answers came before), so an answer to an older
question of the same run, or a second answer to the same one, is refused rather than applied twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from backend import crud
from backend.core.db import session_scope
from backend.core.events import get_event_bus
from backend.core.settings import Settings
from backend.models import Run, RunAnswer, RunStatus, apply_transition, utcnow
from backend.services.errors import Conflict, InvalidAnswer, NotFound
from backend.services.queueing import enqueue
from backend.services.workers import local_queue_owner

__all__ = ["answer_run", "answer_by_person", "expire_waiting_runs", "find_run", "form_answer", "park_run",
           "question_event"]

logger = logging.getLogger(__name__)

EXPIRE_BATCH = 50
NO_ANSWER = "no answer to the question of step '{step}' within {seconds:g} s; the run was stopped"


def _lock(session: Session, run_id: str) -> Run | None:
    return session.exec(select(Run).where(Run.id == run_id).with_for_update()).first()


def find_run(settings: Settings, run_id: str) -> Run | None:
    """A run by id (a retried call names it in its signed request state)."""
    with session_scope(settings.sqlalchemy_url) as session:
        return crud.get_run(session=session, run_id=run_id)


def question_event(run: Run) -> dict[str, Any]:
    """The "question" event for a waiting run (published on its channel; followers ask the caller)."""
    return {"type": "question", "question": run.question}


def park_run(*, session: Session, run_id: str, question: dict[str, Any], parked: dict[str, Any],
             **fields: Any) -> Run | None:
    """Record that a running run waits for the caller's answer; None if it already ended (a cancel won)."""
    run = _lock(session, run_id)
    if run is None or RunStatus(run.status) is not RunStatus.running:
        session.rollback()
        return None
    apply_transition(run, RunStatus.waiting_for_input)
    asked = len(run.answers or {})
    run.question = {**question, "id": f"{question['step_id']}.{asked}"}
    run.parked = parked
    run.waiting_until = utcnow() + timedelta(seconds=float(question.get("timeout") or 600))
    for key, value in fields.items():
        setattr(run, key, value)
    return crud.save_run(session=session, run=run)


def answer_run(*, settings: Settings, run_id: str, question_id: str, answer: dict[str, Any]) -> Run:
    """Record the caller's answer to the run's current question and queue the run again (any worker resumes it).

    Raises NotFound for an unknown run and Conflict when the run does not wait for this question (answered
    already, expired, cancelled, or a newer question is pending).
    """
    with session_scope(settings.sqlalchemy_url) as session:
        run = _lock(session, run_id)
        if run is None:
            raise NotFound("no such run")
        question = run.question or {}
        if RunStatus(run.status) is not RunStatus.waiting_for_input:
            status, error = RunStatus(run.status).value, run.error
            session.rollback()
            raise Conflict(f"the run no longer waits for this answer (it is {status}{f': {error}' if error else ''})")
        if question.get("id") != question_id:
            session.rollback()
            raise Conflict(f"the run waits for an answer to question '{question.get('id')}', not '{question_id[:100]}'")
        answers = {**(run.answers or {}), question["step_id"]: answer}
        apply_transition(run, RunStatus.queued)
        run.answers, run.question, run.waiting_until = answers, None, None
        run.task_id = f"{run.id}-a{len(answers)}"  # a new task: the first one was acknowledged when it parked
        run.worker = local_queue_owner()
        run = crud.save_run(session=session, run=run)
    enqueue(settings, run)
    return run


def form_answer(kind: str, action: str, content: Any) -> dict[str, Any]:
    """The answer a person gives in the console: to a question (``content``: the form's values) or, for a
    step that asks the caller's model, in the model's place (``content``: the reply's text)."""
    if kind == "sample":
        if action != "accept":
            return {"action": "error", "message": "the model's reply was refused in the console"}
        return {"action": "accept", "role": "assistant", "content": {"type": "text", "text": str(content or "")},
                "model": "answered in the console", "stopReason": "endTurn"}
    return {"action": action, "content": content if action == "accept" and isinstance(content, dict) else {}}


def answer_by_person(*, settings: Settings, run: Run, raw: Any) -> Run:
    """A person's answer (console or REST API) to ``run``'s question: checked (a RunAnswer), then ``answer_run``.

    Raises InvalidAnswer for a malformed body, and what ``answer_run`` raises.
    """
    try:
        body = RunAnswer.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(answer)"
        raise InvalidAnswer(f"{where}: {err['msg']}") from None
    kind = str((run.question or {}).get("kind") or "elicit")
    return answer_run(settings=settings, run_id=run.id, question_id=body.question_id,
                      answer=form_answer(kind, body.action, body.content))


def expire_waiting_runs(settings: Settings) -> int:
    """Fail the waiting runs whose question went unanswered past its time; return how many."""
    with session_scope(settings.sqlalchemy_url) as session:
        due = list(session.exec(select(Run.id).where(
            Run.status == RunStatus.waiting_for_input.value, col(Run.waiting_until) < utcnow(),
        ).limit(EXPIRE_BATCH)))
    expired = 0
    for run_id in due:
        with session_scope(settings.sqlalchemy_url) as session:
            run = _lock(session, run_id)
            if run is None or RunStatus(run.status) is not RunStatus.waiting_for_input:
                session.rollback()
                continue
            question = run.question or {}
            apply_transition(run, RunStatus.failed)
            run.error = NO_ANSWER.format(step=question.get("step_id"), seconds=float(question.get("timeout") or 0))
            run.question, run.waiting_until = None, None
            crud.save_run(session=session, run=run)
        get_event_bus(settings.events_backend_url).publish(run_id, {"type": "end", "status": "failed"})
        expired += 1
    if expired:
        logger.info("expired %d run(s) waiting for an answer", expired)
    return expired
