"""Runs of an app and their status state machine."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel

from backend.models.base import TZ, built, utcnow


class RunStatus(str, enum.Enum):
    """Where a run is in its life."""

    queued = "queued"
    running = "running"
    waiting_for_input = "waiting_for_input"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL_STATUSES = frozenset({RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled})

# A run is queued, then picked up by a worker; it ends exactly once. Cancellation may arrive before
# the worker picks it up (queued -> cancelled) or while it runs. A failure may be recorded while still
# queued (the broker refused the task). A running run whose worker was lost goes back to queued, once,
# when its app is marked idempotent (running it again has no extra effect). Nothing leaves a terminal
# state: a late worker result for a cancelled run is dropped, which is how "no result is sent after
# cancel" holds.
# A running run that reaches a step asking the caller (ask, llm with provider: client) parks: it waits for
# input holding no worker. The answer queues it again (any worker resumes it); no answer within the step's
# time fails it; a cancel ends it. The lost-run sweep never touches it (no worker holds it).
ALLOWED_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.queued: frozenset({RunStatus.running, RunStatus.cancelled, RunStatus.failed}),
    RunStatus.running: frozenset({RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled, RunStatus.queued,
                                  RunStatus.waiting_for_input}),
    RunStatus.waiting_for_input: frozenset({RunStatus.queued, RunStatus.failed, RunStatus.cancelled}),
    RunStatus.succeeded: frozenset(),
    RunStatus.failed: frozenset(),
    RunStatus.cancelled: frozenset(),
}


class InvalidTransition(Exception):
    """A status change the state machine does not allow."""


def new_run_id() -> str:
    """A random run id."""
    return uuid.uuid4().hex


class Run(SQLModel, table=True):
    """One call of an app: who called, with what, how it went."""

    id: str = Field(default_factory=new_run_id, primary_key=True, max_length=32)
    app_id: int = Field(foreign_key="app.id", index=True)
    version_id: int | None = Field(default=None, foreign_key="appversion.id")
    endpoint_id: int | None = Field(default=None, foreign_key="mcpendpoint.id", index=True)
    toolkit_id: int | None = Field(default=None, foreign_key="toolkit.id", index=True)
    token_id: int | None = Field(default=None, foreign_key="accesstoken.id")
    token_name: str | None = Field(default=None, max_length=100)
    access: str | None = Field(default=None, max_length=16)  # how the call came in: url, token, oauth
    # how many app calls deep the caller already was (an mcp_tool step of another run says so in a header)
    call_depth: int = Field(default=0)
    arguments: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    progress_trail: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    source: str = Field(default="mcp", max_length=32)
    # None for a tool call; "prompt:<name>" renders a prompt, "resource:<uri>" reads a templated resource
    purpose: str | None = Field(default=None, max_length=2100)
    status: RunStatus = Field(default=RunStatus.queued, sa_type=String(32), index=True)
    inputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    progress_done: int = 0
    progress_total: int = 0
    progress_message: str | None = Field(default=None, max_length=500)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = None
    trace: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    client_name: str | None = Field(default=None, max_length=200, index=True)
    client_version: str | None = Field(default=None, max_length=100)
    task_id: str | None = Field(default=None, max_length=64)
    # the worker holding the run: the one running it, or (embedded mode) the one whose in-memory queue has it
    worker: str | None = Field(default=None, max_length=255)
    # a parked run (waiting_for_input): what it asks (workflows.parking.Question + "id"), until when it waits,
    # its saved state (finished top-level results, trace, progress); `answers` keeps every answer given (step id ->)
    question: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    parked: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    answers: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    waiting_until: datetime | None = Field(default=None, sa_type=TZ, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ, index=True)
    started_at: datetime | None = Field(default=None, sa_type=TZ)
    ended_at: datetime | None = Field(default=None, sa_type=TZ)


_RUN_FACTORIES = {name: field.default_factory for name, field in Run.model_fields.items() if field.default_factory}
_RUN_DEFAULTS = {name: field.default for name, field in Run.model_fields.items()
                 if not field.is_required() and name not in _RUN_FACTORIES}
_RUN_REQUIRED = frozenset(name for name, field in Run.model_fields.items() if field.is_required())


def queued_run(**values: Any) -> Run:
    """A new run, not yet recorded: `values`, and every other column at its default, as `Run(**values)` makes it.

    Built straight into its dict (base.built): `Run(...)` fires an attribute event and looks up a default per
    column, some 100 µs on every call's path. The run stays transient; a later change to it is tracked as usual.
    """
    unknown, missing = values.keys() - Run.model_fields.keys(), _RUN_REQUIRED - values.keys()
    if unknown or missing:
        raise TypeError(f"queued_run: unknown columns {sorted(unknown)}, missing columns {sorted(missing)}")
    columns = {**_RUN_DEFAULTS, **{name: make() for name, make in _RUN_FACTORIES.items() if name not in values}}
    columns.update(values)
    run = built(Run, columns)
    run.__pydantic_fields_set__.update(values)
    return run


def sources_of(to: RunStatus) -> frozenset[RunStatus]:
    """The statuses a run may move to `to` from (the same table as apply_transition)."""
    return frozenset(status for status, targets in ALLOWED_TRANSITIONS.items() if to in targets)


def transition_stamps(to: RunStatus) -> dict[str, datetime]:
    """The times a move to `to` stamps (started_at, ended_at), as apply_transition sets them."""
    stamps: dict[str, datetime] = {}
    if to is RunStatus.running:
        stamps["started_at"] = utcnow()
    if to in TERMINAL_STATUSES:
        stamps["ended_at"] = utcnow()
    return stamps


def apply_transition(run: Run, to: RunStatus) -> None:
    """Move `run` to status `to`, stamping times; raise InvalidTransition if the table forbids it."""
    current = RunStatus(run.status)
    if to not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(f"run {run.id}: {current.value} -> {to.value} is not allowed")
    run.status = to
    for name, value in transition_stamps(to).items():
        setattr(run, name, value)


class RunPublic(BaseModel):
    """A run as its owner sees it."""

    id: str
    app_id: int
    version_id: int | None
    source: str
    status: RunStatus
    inputs: dict[str, Any]
    progress_done: int
    progress_total: int
    progress_message: str | None
    result: dict[str, Any] | None
    error: str | None
    trace: list[dict[str, Any]] | None
    client_name: str | None
    client_version: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: float | None
    endpoint_id: int | None = None
    toolkit_id: int | None = None
    token_name: str | None = None
    access: str | None = None
    progress_trail: list[dict[str, Any]] | None = None
    worker: str | None = None
    purpose: str | None = None
    question: dict[str, Any] | None = None
    waiting_until: datetime | None = None


class RunAnswer(BaseModel):
    """An answer to the question a waiting run asks (its `question.id`): a form's values for an ask step, or the
    reply text given in the place of the caller's model for an llm step with provider: client."""

    model_config = {"extra": "forbid"}
    question_id: str
    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | str | None = None


class RunsPublic(BaseModel):
    """A page of runs."""

    data: list[RunPublic]
    count: int
